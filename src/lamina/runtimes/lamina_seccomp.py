"""The system-call filter of every execution environment (seccomp, classic BPF).

Standard library only, Python 3.8+, imports nothing from Lamina: the spawner builds the
program once (``build_filter``) before it forks anything, and each environment installs
it with a single ``prctl`` (``install``) after its last privileged step and after
``no_new_privs``; exec'd programs and every child inherit it.

What it denies (``EPERM`` unless said otherwise), as container runtimes do by default:
kernel keyrings, new namespaces (``unshare``/``clone`` with a ``CLONE_NEW*`` flag,
``setns``; ``clone3``, whose flags a filter cannot read, answers ``ENOSYS`` so that the C
library falls back to ``clone``), ``io_uring``, ``bpf``, ``perf_event_open``, ``ptrace``
and its relatives, kernel modules, ``kexec``, every mount call, swap, ``reboot``,
``acct``, ``userfaultfd``, ``personality`` changes, file handles, ``syslog``, setting
the clocks, quotas, and the terminal ioctls that inject input (``TIOCSTI``,
``TIOCLINUX``). A call made through another architecture's ABI (x32, i386 on x86_64,
arm32 on aarch64) kills the process: the numbers above would not mean the same calls.
"""

import ctypes
import errno
import os
import struct

# struct seccomp_data: nr (u32), arch (u32), instruction_pointer (u64), args[6] (u64).
DATA_NR = 0
DATA_ARCH = 4
DATA_ARGS = 16

# Classic BPF opcodes.
BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
BPF_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
BPF_RET_K = 0x06  # BPF_RET | BPF_K

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

X32_SYSCALL_BIT = 0x40000000
NAMESPACE_FLAGS = (
    0x00000080  # CLONE_NEWTIME
    | 0x00020000  # CLONE_NEWNS
    | 0x02000000  # CLONE_NEWCGROUP
    | 0x04000000  # CLONE_NEWUTS
    | 0x08000000  # CLONE_NEWIPC
    | 0x10000000  # CLONE_NEWUSER
    | 0x20000000  # CLONE_NEWPID
    | 0x40000000  # CLONE_NEWNET
)
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
# personality(2) values that change nothing dangerous (as Docker allows): PER_LINUX,
# UNAME26, PER_LINUX32, PER_LINUX32|UNAME26, and the query 0xffffffff.
ALLOWED_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


def _numbers(table):
    """``"name:number name:number ..."`` as a dict."""
    return {name: int(number) for name, number in (item.split(":") for item in table.split())}


def _names(text):
    return tuple(text.split())


# System calls denied outright, by name.
DENIED = _names(
    """
    keyctl add_key request_key setns io_uring_setup io_uring_enter io_uring_register
    bpf perf_event_open ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd
    init_module finit_module delete_module create_module kexec_load kexec_file_load
    mount umount2 pivot_root fsopen fsconfig fsmount fspick move_mount open_tree
    mount_setattr swapon swapoff reboot acct userfaultfd name_to_handle_at
    open_by_handle_at lookup_dcookie syslog clock_settime settimeofday adjtimex
    clock_adjtime quotactl quotactl_fd vhangup iopl ioperm uselib _sysctl nfsservctl
    """
)

# Per architecture: its AUDIT_ARCH value and system call numbers (only those the filter
# names; a name an architecture lacks is simply absent).
ARCHITECTURES = {
    "x86_64": (
        0xC000003E,
        _numbers(
            """
            ioctl:16 clone:56 ptrace:101 syslog:103 uselib:134 personality:135
            vhangup:153 pivot_root:155 _sysctl:156 adjtimex:159 acct:163 settimeofday:164
            mount:165 umount2:166 swapon:167 swapoff:168 reboot:169 iopl:172 ioperm:173
            create_module:174 init_module:175 delete_module:176 quotactl:179
            nfsservctl:180 lookup_dcookie:212 clock_settime:227 kexec_load:246
            add_key:248 request_key:249 keyctl:250 unshare:272 perf_event_open:298
            name_to_handle_at:303 open_by_handle_at:304 clock_adjtime:305 setns:308
            process_vm_readv:310 process_vm_writev:311 kcmp:312 finit_module:313
            kexec_file_load:320 bpf:321 userfaultfd:323
            """
        ),
    ),
    "aarch64": (
        0xC00000B7,
        _numbers(
            """
            lookup_dcookie:18 ioctl:29 umount2:39 mount:40 pivot_root:41 vhangup:58
            quotactl:60 acct:89 personality:92 unshare:97 kexec_load:104 init_module:105
            delete_module:106 clock_settime:112 syslog:116 ptrace:117 reboot:142
            settimeofday:170 adjtimex:171 add_key:217 request_key:218 keyctl:219
            clone:220 swapon:224 swapoff:225 perf_event_open:241 name_to_handle_at:264
            open_by_handle_at:265 clock_adjtime:266 setns:268 process_vm_readv:270
            process_vm_writev:271 kcmp:272 finit_module:273 bpf:280 userfaultfd:282
            kexec_file_load:294
            """
        ),
    ),
}
# Numbered alike on every architecture (the unified table from Linux 5.1 on).
COMMON = _numbers(
    """
    io_uring_setup:425 io_uring_enter:426 io_uring_register:427 open_tree:428
    move_mount:429 fsopen:430 fsconfig:431 fsmount:432 fspick:433 clone3:435
    pidfd_getfd:438 mount_setattr:442 quotactl_fd:443
    """
)


class _Assembler:
    """Classic BPF with symbolic jump targets, resolved into relative offsets."""

    def __init__(self):
        self.code = []  # (opcode, jump if true, jump if false, k)
        self.labels = {}

    def label(self, name):
        self.labels[name] = len(self.code)

    def load(self, offset):
        self.code.append((BPF_LD_W_ABS, 0, 0, offset))

    def jump_if_equal(self, value, true, false=None):
        self.code.append((BPF_JEQ_K, true, false, value))

    def jump_if_any_bit(self, mask, true, false=None):
        self.code.append((BPF_JSET_K, true, false, mask))

    def ret(self, value):
        self.code.append((BPF_RET_K, 0, 0, value))

    def program(self):
        """The instructions as ``struct sock_filter`` bytes."""
        out = bytearray()
        for index, (opcode, true, false, k) in enumerate(self.code):
            out += struct.pack(
                "=HBBI", opcode, self._offset(index, true), self._offset(index, false), k
            )
        return bytes(out)

    def _offset(self, index, target):
        if target is None or isinstance(target, int):
            return target or 0
        offset = self.labels[target] - index - 1
        if not 0 <= offset <= 255:
            raise ValueError("BPF jump out of range: %s" % target)
        return offset


def build_filter(machine=None):
    """The filter for this machine's architecture, as ``struct sock_filter`` bytes."""
    machine = machine or os.uname().machine
    if machine not in ARCHITECTURES:
        raise OSError(errno.ENOSYS, "seccomp filter: unsupported architecture %s" % machine)
    audit_arch, numbers = ARCHITECTURES[machine]
    numbers = dict(numbers, **COMMON)
    asm = _Assembler()
    asm.load(DATA_ARCH)
    asm.jump_if_equal(audit_arch, None, "kill")
    asm.load(DATA_NR)
    if machine == "x86_64":
        asm.jump_if_any_bit(X32_SYSCALL_BIT, "kill")
    for name in DENIED:
        if name in numbers:
            asm.jump_if_equal(numbers[name], "deny")
    asm.jump_if_equal(numbers["clone3"], "no_such_call")
    asm.jump_if_equal(numbers["clone"], "namespace_flags")
    asm.jump_if_equal(numbers["unshare"], "namespace_flags")
    asm.jump_if_equal(numbers["ioctl"], "ioctl")
    asm.jump_if_equal(numbers["personality"], "personality")
    asm.ret(SECCOMP_RET_ALLOW)

    asm.label("namespace_flags")  # clone(flags, ...) and unshare(flags): the low word
    asm.load(DATA_ARGS)
    asm.jump_if_any_bit(NAMESPACE_FLAGS, "deny")
    asm.ret(SECCOMP_RET_ALLOW)

    asm.label("ioctl")  # ioctl(fd, request, ...): the kernel reads request as 32 bits
    asm.load(DATA_ARGS + 8)
    asm.jump_if_equal(TIOCSTI, "deny")
    asm.jump_if_equal(TIOCLINUX, "deny")
    asm.ret(SECCOMP_RET_ALLOW)

    asm.label("personality")
    asm.load(DATA_ARGS)
    for value in ALLOWED_PERSONALITIES:
        asm.jump_if_equal(value, "allow")
    asm.label("deny")
    asm.ret(SECCOMP_RET_ERRNO | errno.EPERM)
    asm.label("allow")
    asm.ret(SECCOMP_RET_ALLOW)
    asm.label("no_such_call")
    asm.ret(SECCOMP_RET_ERRNO | errno.ENOSYS)
    asm.label("kill")
    asm.ret(SECCOMP_RET_KILL_PROCESS)
    return asm.program()


def _load_libc():
    """The C library. Not through ``ctypes.util.find_library``: it runs ``ldconfig`` (or a
    compiler) and imports a dozen modules, some 15 ms of every spawner's start."""
    for name in ("libc.so.6", None):  # glibc; else the process's own symbols (musl)
        try:
            lib = ctypes.CDLL(name, use_errno=True)
        except OSError:
            continue
        if hasattr(lib, "prctl") and hasattr(lib, "mount"):
            return lib
    from ctypes.util import find_library

    return ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """A built program, ready to install with one system call in any forked child."""

    def __init__(self, program):
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.addressof(self._buffer))
        libc = _load_libc()
        self._prctl = libc.prctl

    def install(self):
        """Filter this process and everything it starts from now on: one system call.
        The kernel requires ``no_new_privs`` of a caller without CAP_SYS_ADMIN (the
        environment sets it when it drops its privileges)."""
        mode, program = ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(self._fprog)
        if self._prctl(PR_SET_SECCOMP, mode, program, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "seccomp: %s" % os.strerror(err))
