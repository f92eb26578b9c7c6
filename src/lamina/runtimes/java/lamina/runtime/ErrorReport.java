package lamina.runtime;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Error documents as AWS's Java runtime writes them: {errorMessage, errorType (the exception's
 * class name), stackTrace (its frames, "Class.method(File.java:line)", up to where the runtime
 * called the handler), cause (the same for the cause, if any)}; and the log lines it prints:
 * "message: type", then the exception's own stack trace.
 */
final class ErrorReport {
    private static final int MAX_FRAMES = 100;
    private static final int MAX_CAUSES = 20;

    private ErrorReport() {
    }

    static byte[] document(Throwable error) {
        return Json.write(tree(error, 0, new IdentityHashMap<>())).getBytes(StandardCharsets.UTF_8);
    }

    private static Map<String, Object> tree(Throwable error, int depth,
            IdentityHashMap<Throwable, Boolean> seen) {
        seen.put(error, Boolean.TRUE);
        Map<String, Object> doc = new LinkedHashMap<>();
        if (error.getMessage() != null) {
            doc.put("errorMessage", error.getMessage());
        }
        doc.put("errorType", error.getClass().getName());
        doc.put("stackTrace", frames(error));
        Throwable cause = error.getCause();
        if (cause != null && depth < MAX_CAUSES && !seen.containsKey(cause)) {
            doc.put("cause", tree(cause, depth + 1, seen));
        }
        return doc;
    }

    private static List<String> frames(Throwable error) {
        List<String> out = new ArrayList<>();
        for (StackTraceElement frame : error.getStackTrace()) {
            if (isRuntimeFrame(frame) || out.size() == MAX_FRAMES) {
                break;
            }
            out.add(frame.toString());
        }
        return out;
    }

    /** Frames from here on are the runtime's calling the handler. */
    private static boolean isRuntimeFrame(StackTraceElement frame) {
        String cls = frame.getClassName();
        return cls.startsWith("lamina.runtime.") || cls.startsWith("jdk.internal.reflect.")
                || cls.startsWith("java.lang.reflect.Method");
    }

    static String logText(Throwable error) {
        StringWriter trace = new StringWriter();
        error.printStackTrace(new PrintWriter(trace));
        return error.getMessage() + ": " + error.getClass().getName() + "\n" + trace;
    }
}
