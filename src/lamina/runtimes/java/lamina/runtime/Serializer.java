package lamina.runtime;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A handler's result to a JSON tree (see Json), as AWS's Java serialization writes plain
 * types: strings, numbers, booleans, maps, iterables and arrays as themselves, enums by
 * name, byte[] as base64, other JDK types as their toString, and POJOs through their public
 * fields and getters (named as Jackson names them; null members left out).
 */
final class Serializer {
    private static final int MAX_DEPTH = 256;

    private Serializer() {
    }

    static Object toTree(Object value) {
        return toTree(value, 0);
    }

    private static Object toTree(Object value, int depth) {
        if (value == null || value instanceof String || value instanceof Boolean
                || value instanceof Number || value instanceof Character) {
            return value;
        }
        if (depth > MAX_DEPTH) {
            throw new IllegalStateException("the result is nested too deep (a cycle?)");
        }
        if (value instanceof Enum) {
            return ((Enum<?>) value).name();
        }
        if (value instanceof byte[]) {
            return Base64.getEncoder().encodeToString((byte[]) value);
        }
        if (value instanceof Map) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                out.put(String.valueOf(entry.getKey()), toTree(entry.getValue(), depth + 1));
            }
            return out;
        }
        if (value instanceof Iterable) {
            List<Object> out = new ArrayList<>();
            for (Object item : (Iterable<?>) value) {
                out.add(toTree(item, depth + 1));
            }
            return out;
        }
        if (value.getClass().isArray()) {
            List<Object> out = new ArrayList<>();
            int length = Array.getLength(value);
            for (int i = 0; i < length; i++) {
                out.add(toTree(Array.get(value, i), depth + 1));
            }
            return out;
        }
        if (value instanceof CharSequence || value.getClass().getName().startsWith("java.")) {
            return value.toString();
        }
        return beanTree(value, depth);
    }

    private static Object beanTree(Object value, int depth) {
        Map<String, Object> out = new LinkedHashMap<>();
        Class<?> raw = value.getClass();
        try {
            for (Field field : raw.getFields()) {
                if (!Modifier.isStatic(field.getModifiers())) {
                    put(out, field.getName(), field.get(value), depth);
                }
            }
            for (Method method : raw.getMethods()) {
                String property = property(method);
                if (property != null) {
                    method.setAccessible(true);
                    put(out, property, method.invoke(value), depth);
                }
            }
        } catch (ReflectiveOperationException failed) {
            throw new IllegalStateException("Cannot serialize " + raw.getName() + ": " + failed);
        }
        return out;
    }

    private static void put(Map<String, Object> out, String name, Object member, int depth) {
        if (member != null && !out.containsKey(name)) {
            out.put(name, toTree(member, depth + 1));
        }
    }

    /** The property a public getter reads, named as Jackson names it, or null. */
    private static String property(Method method) {
        if (Modifier.isStatic(method.getModifiers()) || method.getParameterCount() != 0
                || method.getDeclaringClass() == Object.class) {
            return null;
        }
        String name = method.getName();
        String rest;
        if (name.startsWith("get") && name.length() > 3 && method.getReturnType() != void.class) {
            rest = name.substring(3);
        } else if (name.startsWith("is") && name.length() > 2
                && (method.getReturnType() == boolean.class
                        || method.getReturnType() == Boolean.class)) {
            rest = name.substring(2);
        } else {
            return null;
        }
        int upper = 0;
        while (upper < rest.length() && Character.isUpperCase(rest.charAt(upper))) {
            upper++;
        }
        if (upper == 0) {
            return rest;
        }
        return rest.substring(0, upper).toLowerCase(Locale.ROOT) + rest.substring(upper);
    }
}
