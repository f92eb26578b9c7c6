package lamina.runtime;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Lamina's Java runtime: loads the handler named by _HANDLER from the function's code
 * (LAMBDA_TASK_ROOT's classes, its lib/*.jar and the jars at its root, then /opt/java/lib's
 * jars, in a class loader of their own whose parent holds the runtime and its
 * aws-lambda-java-core interfaces), then serves invocations from the Runtime API until the
 * environment ends.
 */
public final class Bootstrap {
    private static final String TRACE_PROPERTY = "com.amazonaws.xray.traceHeader";

    private Bootstrap() {
    }

    public static void main(String[] args) throws IOException {
        String api = System.getenv("AWS_LAMBDA_RUNTIME_API");
        String spec = args.length > 0 ? args[0] : System.getenv("_HANDLER");
        RuntimeApi client = new RuntimeApi(api);
        ClassLoader loader = functionLoader(envOr("LAMBDA_TASK_ROOT", "/var/task"),
                envOr("LAMINA_OPT_ROOT", "/opt"));
        Thread.currentThread().setContextClassLoader(loader);
        Handler handler;
        try {
            handler = Handler.load(spec == null ? "" : spec, loader);
        } catch (Handler.InitFailure failure) {
            report(failure.reported);
            client.initError(ErrorReport.document(failure.reported), "Runtime.Unknown");
            System.exit(1);
            return;
        }
        while (true) {
            RuntimeApi.Reply next = client.next();
            serve(client, handler, next);
        }
    }

    private static String envOr(String name, String otherwise) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? otherwise : value;
    }

    private static void serve(RuntimeApi client, Handler handler, RuntimeApi.Reply next)
            throws IOException {
        InvocationContext context = new InvocationContext(next);
        String requestId = context.getAwsRequestId();
        String trace = context.getXrayTraceId();
        if (trace != null) {
            System.setProperty(TRACE_PROPERTY, trace);
        } else {
            System.clearProperty(TRACE_PROPERTY);
        }
        byte[] result;
        try {
            result = handler.invoke(next.body, context);
        } catch (Throwable error) {
            report(error);
            client.invocationError(requestId, ErrorReport.document(error),
                    error.getClass().getName());
            if (error instanceof VirtualMachineError) {
                System.exit(1);
            }
            return;
        }
        System.out.flush();
        System.err.flush();
        client.respond(requestId, result);
    }

    private static void report(Throwable error) {
        PrintStream out = System.out;
        synchronized (out) {
            out.print(ErrorReport.logText(error));
            out.flush();
        }
        System.err.flush();
    }

    private static ClassLoader functionLoader(String taskRoot, String optRoot) {
        List<URL> urls = new ArrayList<>();
        File task = new File(taskRoot);
        add(urls, task);
        addJars(urls, new File(task, "lib"));
        addJars(urls, task);
        addJars(urls, new File(optRoot, "java/lib"));
        return new URLClassLoader(urls.toArray(new URL[0]), Bootstrap.class.getClassLoader());
    }

    private static void addJars(List<URL> urls, File directory) {
        File[] files = directory.listFiles((dir, name) -> name.endsWith(".jar"));
        if (files == null) {
            return;
        }
        Arrays.sort(files);
        for (File jar : files) {
            add(urls, jar);
        }
    }

    private static void add(List<URL> urls, File file) {
        try {
            urls.add(file.toURI().toURL());
        } catch (MalformedURLException impossible) {
            // a local file always has a URL
        }
    }
}
