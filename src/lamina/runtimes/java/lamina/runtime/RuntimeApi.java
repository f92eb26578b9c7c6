package lamina.runtime;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Runtime API client: a small HTTP/1.1 client on one keep-alive TCP connection to
 * AWS_LAMBDA_RUNTIME_API (the JDK's HTTP clients cost tens of milliseconds to load at every
 * cold start). A transport failure is thrown; the caller exits, as AWS's runtime does when
 * the Runtime API goes away. A connection the server closed is opened again once.
 */
final class RuntimeApi {
    static final String PREFIX = "/2018-06-01/runtime";
    private static final String ERROR_TYPE = "Lambda-Runtime-Function-Error-Type";
    private static final int MAX_HEADER_LINES = 200;
    private static final int MAX_LINE = 65536;

    /** An answer of the Runtime API: status, headers (names in lower case), body. */
    static final class Reply {
        final int status;
        final Map<String, String> headers;
        final byte[] body;

        Reply(int status, Map<String, String> headers, byte[] body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private final String host;
    private final int port;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    RuntimeApi(String address) {
        int colon = address.lastIndexOf(':');
        this.host = address.substring(0, colon);
        this.port = Integer.parseInt(address.substring(colon + 1));
    }

    Reply next() throws IOException {
        Reply reply = request("GET", PREFIX + "/invocation/next", null, null, null);
        if (reply.status != 200) {
            throw new IOException("Runtime API answered " + reply.status + " to next invocation");
        }
        return reply;
    }

    void respond(String requestId, byte[] body) throws IOException {
        request("POST", PREFIX + "/invocation/" + requestId + "/response", body,
                "application/json", null);
    }

    void invocationError(String requestId, byte[] document, String errorType) throws IOException {
        request("POST", PREFIX + "/invocation/" + requestId + "/error", document,
                "application/json", errorType);
    }

    void initError(byte[] document, String errorType) throws IOException {
        request("POST", PREFIX + "/init/error", document, "application/json", errorType);
    }

    private Reply request(String method, String path, byte[] body, String contentType,
            String errorType) throws IOException {
        try {
            return exchange(method, path, body, contentType, errorType);
        } catch (EOFException | java.net.SocketException first) {
            close();
            return exchange(method, path, body, contentType, errorType);
        }
    }

    private void connect() throws IOException {
        if (socket != null) {
            return;
        }
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress(host, port));
        in = new BufferedInputStream(socket.getInputStream(), 65536);
        out = socket.getOutputStream();
    }

    private void close() {
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing a broken connection
            }
        }
        socket = null;
    }

    private Reply exchange(String method, String path, byte[] body, String contentType,
            String errorType) throws IOException {
        connect();
        byte[] payload = body == null ? new byte[0] : body;
        StringBuilder head = new StringBuilder(256);
        head.append(method).append(' ').append(path).append(" HTTP/1.1\r\n");
        head.append("Host: ").append(host).append(':').append(port).append("\r\n");
        head.append("User-Agent: lamina-java/").append(System.getProperty("java.version"))
                .append("\r\n");
        if (contentType != null) {
            head.append("Content-Type: ").append(contentType).append("\r\n");
        }
        if (errorType != null) {
            head.append(ERROR_TYPE).append(": ").append(errorType.replaceAll("[\r\n]", ""))
                    .append("\r\n");
        }
        head.append("Content-Length: ").append(payload.length).append("\r\n\r\n");
        byte[] headBytes = head.toString().getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[headBytes.length + payload.length];
        System.arraycopy(headBytes, 0, all, 0, headBytes.length);
        System.arraycopy(payload, 0, all, headBytes.length, payload.length);
        out.write(all);
        out.flush();
        return readReply();
    }

    private Reply readReply() throws IOException {
        String statusLine = readLine();
        String[] parts = statusLine.split(" ", 3);
        int status = Integer.parseInt(parts[1]);
        Map<String, String> headers = new TreeMap<>();
        for (int i = 0; ; i++) {
            if (i == MAX_HEADER_LINES) {
                throw new IOException("too many header lines from the Runtime API");
            }
            String line = readLine();
            if (line.isEmpty()) {
                break;
            }
            int colon = line.indexOf(':');
            if (colon > 0) {
                headers.put(line.substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        line.substring(colon + 1).trim());
            }
        }
        byte[] body;
        String encoding = headers.getOrDefault("transfer-encoding", "");
        if (encoding.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = readChunked();
        } else {
            body = readExactly(Integer.parseInt(headers.getOrDefault("content-length", "0")));
        }
        if ("close".equalsIgnoreCase(headers.get("connection"))) {
            close();
        }
        return new Reply(status, headers, body);
    }

    private String readLine() throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream(128);
        while (true) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("the Runtime API closed the connection");
            }
            if (b == '\n') {
                break;
            }
            if (line.size() >= MAX_LINE) {
                throw new IOException("header line too long from the Runtime API");
            }
            line.write(b);
        }
        String text = line.toString(StandardCharsets.UTF_8);
        return text.endsWith("\r") ? text.substring(0, text.length() - 1) : text;
    }

    private byte[] readExactly(int length) throws IOException {
        byte[] data = new byte[length];
        int done = 0;
        while (done < length) {
            int n = in.read(data, done, length - done);
            if (n < 0) {
                throw new EOFException("the Runtime API closed the connection");
            }
            done += n;
        }
        return data;
    }

    private byte[] readChunked() throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        while (true) {
            String sizeLine = readLine();
            int semicolon = sizeLine.indexOf(';');
            int size = Integer.parseInt(
                    (semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
            if (size == 0) {
                while (!readLine().isEmpty()) {
                    // trailers
                }
                return all.toByteArray();
            }
            all.write(readExactly(size));
            readLine();
        }
    }
}
