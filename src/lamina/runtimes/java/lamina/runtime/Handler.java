package lamina.runtime;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The function's handler as AWS's Java runtime resolves it: {@code package.Class::method} or
 * {@code package.Class} (then the RequestHandler / RequestStreamHandler method it implements,
 * else {@code handleRequest}). The method is public, takes (input), (input, Context),
 * (InputStream, OutputStream) or (InputStream, OutputStream, Context), or nothing; of several
 * candidates the one with the most parameters wins. An instance method is called on one
 * instance made at init with the public no-argument constructor.
 */
final class Handler {
    /** The handler cannot be loaded (an init error). */
    static final class InitFailure extends Exception {
        private static final long serialVersionUID = 1L;

        final Throwable reported;

        InitFailure(Throwable reported) {
            super(reported.getMessage(), reported);
            this.reported = reported;
        }
    }

    private final Method method;
    private final Object instance;
    private final boolean stream;
    private final Type inputType;

    private Handler(Method method, Object instance, boolean stream, Type inputType) {
        this.method = method;
        this.instance = instance;
        this.stream = stream;
        this.inputType = inputType;
    }

    static Handler load(String spec, ClassLoader loader) throws InitFailure {
        String className = spec;
        String methodName = null;
        int sep = spec.indexOf("::");
        if (sep >= 0) {
            className = spec.substring(0, sep);
            methodName = spec.substring(sep + 2);
        }
        Class<?> cls;
        try {
            cls = Class.forName(className, true, loader);
        } catch (ClassNotFoundException | NoClassDefFoundError missing) {
            // As AWS reports it: the class loader's frames under a message of its own.
            ClassNotFoundException reported =
                    new ClassNotFoundException("Class not found: " + className);
            reported.setStackTrace(missing.getStackTrace());
            throw new InitFailure(reported);
        } catch (ExceptionInInitializerError failed) {
            throw new InitFailure(failed.getCause() != null ? failed.getCause() : failed);
        } catch (LinkageError failed) {
            throw new InitFailure(failed);
        }
        Method method = methodName == null ? interfaceMethod(cls) : null;
        boolean stream;
        Type inputType = Object.class;
        if (method != null) {
            stream = RequestStreamHandler.class.isAssignableFrom(cls);
            if (!stream) {
                inputType = requestHandlerInput(cls);
            }
        } else {
            String name = methodName == null ? "handleRequest" : methodName;
            method = pick(cls, name);
            if (method == null) {
                throw new InitFailure(new NoSuchMethodException("No public method named " + name
                        + " with appropriate method signature found on class " + cls.getName()));
            }
            stream = isStream(method);
            if (!stream && method.getParameterCount() > 0) {
                inputType = method.getGenericParameterTypes()[0];
            }
        }
        Object instance = null;
        if (!Modifier.isStatic(method.getModifiers())) {
            try {
                instance = cls.getConstructor().newInstance();
            } catch (InvocationTargetException failed) {
                throw new InitFailure(failed.getCause());
            } catch (ReflectiveOperationException | RuntimeException failed) {
                throw new InitFailure(new NoSuchMethodException("Class " + cls.getName()
                        + " has no public zero-argument constructor"));
            }
        }
        method.setAccessible(true);
        return new Handler(method, instance, stream, inputType);
    }

    private static Method interfaceMethod(Class<?> cls) {
        try {
            if (RequestStreamHandler.class.isAssignableFrom(cls)) {
                return cls.getMethod("handleRequest", InputStream.class, OutputStream.class,
                        Context.class);
            }
            if (RequestHandler.class.isAssignableFrom(cls)) {
                return cls.getMethod("handleRequest", Object.class, Context.class);
            }
        } catch (NoSuchMethodException impossible) {
            return null;
        }
        return null;
    }

    /** The input type of {@code RequestHandler<I, O>} as ``cls`` (or a superclass) binds it. */
    private static Type requestHandlerInput(Class<?> cls) {
        for (Class<?> c = cls; c != null; c = c.getSuperclass()) {
            for (Type iface : c.getGenericInterfaces()) {
                if (iface instanceof ParameterizedType
                        && ((ParameterizedType) iface).getRawType() == RequestHandler.class) {
                    return ((ParameterizedType) iface).getActualTypeArguments()[0];
                }
            }
        }
        return Object.class;
    }

    private static boolean isStream(Method method) {
        Class<?>[] params = method.getParameterTypes();
        return params.length >= 2 && params[0] == InputStream.class
                && params[1] == OutputStream.class;
    }

    private static boolean acceptable(Method method) {
        Class<?>[] params = method.getParameterTypes();
        switch (params.length) {
            case 0:
            case 1:
                return true;
            case 2:
                return isStream(method) || params[1] == Context.class;
            case 3:
                return isStream(method) && params[2] == Context.class;
            default:
                return false;
        }
    }

    private static Method pick(Class<?> cls, String name) {
        List<Method> candidates = new ArrayList<>();
        for (Method method : cls.getMethods()) {
            if (method.getName().equals(name) && acceptable(method)) {
                candidates.add(method);
            }
        }
        Method best = null;
        for (Method method : candidates) {
            if (best == null || better(method, best)) {
                best = method;
            }
        }
        return best;
    }

    private static boolean better(Method a, Method b) {
        if (a.getParameterCount() != b.getParameterCount()) {
            return a.getParameterCount() > b.getParameterCount();
        }
        if (a.isBridge() != b.isBridge()) {
            return !a.isBridge();
        }
        return b.getDeclaringClass().isAssignableFrom(a.getDeclaringClass())
                && a.getDeclaringClass() != b.getDeclaringClass();
    }

    /** Runs the handler on one event; returns the response body. Exceptions are the
     * handler's own (unwrapped) or a conversion failure. */
    byte[] invoke(byte[] event, Context context) throws Throwable {
        Object[] args;
        ByteArrayOutputStream output = null;
        int count = method.getParameterCount();
        if (stream) {
            output = new ByteArrayOutputStream();
            args = count == 3 ? new Object[] {new ByteArrayInputStream(event), output, context}
                    : new Object[] {new ByteArrayInputStream(event), output};
        } else if (count == 0) {
            args = new Object[0];
        } else {
            Object input = input(event);
            args = count == 2 ? new Object[] {input, context} : new Object[] {input};
        }
        Object result;
        try {
            result = method.invoke(instance, args);
        } catch (InvocationTargetException thrown) {
            throw thrown.getCause();
        }
        if (output != null) {
            return output.toByteArray();
        }
        if (method.getReturnType() == void.class) {
            return "null".getBytes(StandardCharsets.UTF_8);
        }
        if (result instanceof InputStream) {
            return ((InputStream) result).readAllBytes();
        }
        try {
            return Json.write(Serializer.toTree(result)).getBytes(StandardCharsets.UTF_8);
        } catch (RuntimeException failed) {
            throw new RuntimeException("An error occurred during JSON serialization of response",
                    unchecked(failed));
        }
    }

    /** A conversion failure as AWS's serialization reports it: an UncheckedIOException. */
    private static UncheckedIOException unchecked(RuntimeException failed) {
        return new UncheckedIOException(new IOException(failed.getMessage()));
    }

    private Object input(byte[] event) {
        Class<?> raw = Convert.rawClass(inputType);
        if (raw == InputStream.class) {
            return new ByteArrayInputStream(event);
        }
        if (raw == byte[].class) {
            return event;
        }
        String text = new String(event, StandardCharsets.UTF_8);
        if (text.trim().isEmpty()) {
            return null;
        }
        try {
            return Convert.toJava(Json.parse(text), inputType);
        } catch (Json.SyntaxError | Convert.Mismatch failed) {
            throw new RuntimeException("An error occurred during JSON parsing", unchecked(failed));
        }
    }
}
