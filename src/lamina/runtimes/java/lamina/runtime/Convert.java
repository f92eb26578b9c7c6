package lamina.runtime;

import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * JSON trees (see Json) to a handler's input type, as AWS's Java serialization reads plain
 * types: String, numbers, Boolean, Map, List, Set, arrays, enums (by name), byte[] (base64),
 * value types from strings (valueOf, fromString, parse, a String constructor), and POJOs
 * through a public no-argument constructor then setters or public fields, member names
 * matched without regard to case, unknown members ignored. The way back: Serializer.
 */
final class Convert {
    /** An event that does not fit the handler's input type. */
    static final class Mismatch extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Mismatch(String message) {
            super(message);
        }
    }

    private static final int MAX_DEPTH = 256;

    private Convert() {
    }

    // --- JSON tree to Java ----------------------------------------------------------------

    static Object toJava(Object tree, Type type) {
        return toJava(tree, type, 0);
    }

    private static Object toJava(Object tree, Type type, int depth) {
        if (depth > MAX_DEPTH) {
            throw new Mismatch("input nested too deep");
        }
        if (type instanceof WildcardType) {
            Type[] upper = ((WildcardType) type).getUpperBounds();
            return toJava(tree, upper.length > 0 ? upper[0] : Object.class, depth);
        }
        if (type instanceof TypeVariable) {
            Type[] bounds = ((TypeVariable<?>) type).getBounds();
            return toJava(tree, bounds.length > 0 ? bounds[0] : Object.class, depth);
        }
        if (type instanceof GenericArrayType) {
            return array(tree, ((GenericArrayType) type).getGenericComponentType(), depth);
        }
        Class<?> raw = rawClass(type);
        if (raw == Object.class) {
            return tree;
        }
        if (tree == null) {
            if (raw.isPrimitive()) {
                return Array.get(Array.newInstance(raw, 1), 0);
            }
            return null;
        }
        if (raw == String.class || raw == CharSequence.class) {
            if (tree instanceof Map || tree instanceof List) {
                throw new Mismatch("Cannot deserialize a JSON "
                        + (tree instanceof Map ? "object" : "array") + " into java.lang.String");
            }
            return tree.toString();
        }
        if (raw.isPrimitive() || Number.class.isAssignableFrom(raw) || raw == Boolean.class
                || raw == Character.class) {
            return scalar(tree, raw);
        }
        if (raw.isEnum()) {
            return enumValue(tree, raw);
        }
        if (raw == byte[].class && tree instanceof String) {
            return Base64.getDecoder().decode((String) tree);
        }
        if (raw.isArray()) {
            return array(tree, raw.getComponentType(), depth);
        }
        if (Map.class.isAssignableFrom(raw)) {
            return map(tree, type, raw, depth);
        }
        if (Collection.class.isAssignableFrom(raw)) {
            return collection(tree, type, raw, depth);
        }
        return pojo(tree, raw, depth);
    }

    static Class<?> rawClass(Type type) {
        if (type instanceof Class) {
            return (Class<?>) type;
        }
        if (type instanceof ParameterizedType) {
            return (Class<?>) ((ParameterizedType) type).getRawType();
        }
        if (type instanceof GenericArrayType) {
            Class<?> component = rawClass(((GenericArrayType) type).getGenericComponentType());
            return Array.newInstance(component, 0).getClass();
        }
        return Object.class;
    }

    private static Type argument(Type type, int index) {
        if (type instanceof ParameterizedType) {
            Type[] args = ((ParameterizedType) type).getActualTypeArguments();
            if (index < args.length) {
                return args[index];
            }
        }
        return Object.class;
    }

    private static Object scalar(Object tree, Class<?> raw) {
        if (raw == boolean.class || raw == Boolean.class) {
            if (tree instanceof Boolean) {
                return tree;
            }
            return Boolean.valueOf(tree.toString());
        }
        if (raw == char.class || raw == Character.class) {
            String s = tree.toString();
            if (s.length() != 1) {
                throw new Mismatch("Cannot deserialize \"" + s + "\" into a char");
            }
            return s.charAt(0);
        }
        if (tree instanceof Map || tree instanceof List || tree instanceof Boolean) {
            throw new Mismatch("Cannot deserialize " + Json.write(tree) + " into " + raw.getName());
        }
        BigDecimal number;
        try {
            number = new BigDecimal(tree.toString().trim());
        } catch (NumberFormatException bad) {
            throw new Mismatch("Cannot deserialize \"" + tree + "\" into " + raw.getName());
        }
        if (raw == int.class || raw == Integer.class) {
            return number.intValue();
        }
        if (raw == long.class || raw == Long.class) {
            return number.longValue();
        }
        if (raw == double.class || raw == Double.class) {
            return number.doubleValue();
        }
        if (raw == float.class || raw == Float.class) {
            return number.floatValue();
        }
        if (raw == short.class || raw == Short.class) {
            return number.shortValue();
        }
        if (raw == byte.class || raw == Byte.class) {
            return number.byteValue();
        }
        if (raw == BigInteger.class) {
            return number.toBigInteger();
        }
        if (raw == BigDecimal.class || raw == Number.class) {
            return number;
        }
        throw new Mismatch("Cannot deserialize into " + raw.getName());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumValue(Object tree, Class<?> raw) {
        try {
            return Enum.valueOf((Class) raw, tree.toString());
        } catch (IllegalArgumentException bad) {
            throw new Mismatch("\"" + tree + "\" is not one of the values of " + raw.getName());
        }
    }

    private static List<?> listOf(Object tree, String what) {
        if (!(tree instanceof List)) {
            throw new Mismatch("Cannot deserialize " + describe(tree) + " into " + what);
        }
        return (List<?>) tree;
    }

    private static Object array(Object tree, Type component, int depth) {
        List<?> items = listOf(tree, "an array");
        Object array = Array.newInstance(rawClass(component), items.size());
        for (int i = 0; i < items.size(); i++) {
            Array.set(array, i, toJava(items.get(i), component, depth + 1));
        }
        return array;
    }

    @SuppressWarnings("unchecked")
    private static Object collection(Object tree, Type type, Class<?> raw, int depth) {
        List<?> items = listOf(tree, raw.getName());
        Collection<Object> out;
        if (raw.isInterface() || Modifier.isAbstract(raw.getModifiers())) {
            out = Set.class.isAssignableFrom(raw) ? new LinkedHashSet<>() : new ArrayList<>();
        } else {
            out = (Collection<Object>) instantiate(raw);
        }
        Type element = argument(type, 0);
        for (Object item : items) {
            out.add(toJava(item, element, depth + 1));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Object map(Object tree, Type type, Class<?> raw, int depth) {
        if (!(tree instanceof Map)) {
            throw new Mismatch("Cannot deserialize " + describe(tree) + " into " + raw.getName());
        }
        Map<Object, Object> out;
        if (raw.isInterface() || Modifier.isAbstract(raw.getModifiers())) {
            out = java.util.SortedMap.class.isAssignableFrom(raw) ? new TreeMap<>()
                    : new LinkedHashMap<>();
        } else {
            out = (Map<Object, Object>) instantiate(raw);
        }
        Type keyType = argument(type, 0);
        Type valueType = argument(type, 1);
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) tree).entrySet()) {
            Object key = rawClass(keyType) == Object.class ? entry.getKey()
                    : toJava(entry.getKey(), keyType, depth + 1);
            out.put(key, toJava(entry.getValue(), valueType, depth + 1));
        }
        return out;
    }

    private static Object instantiate(Class<?> raw) {
        try {
            return raw.getConstructor().newInstance();
        } catch (ReflectiveOperationException | RuntimeException failed) {
            throw new Mismatch("Cannot construct an instance of " + raw.getName()
                    + ": no public constructor without arguments");
        }
    }

    /** A value type written as a string (UUID, java.time, URI, Joda's DateTime, ...): its
     * static valueOf / fromString / parse, else its constructor of one String or Object. */
    private static Object fromString(String text, Class<?> raw) {
        for (String name : new String[] {"valueOf", "fromString", "parse"}) {
            for (Class<?> param : new Class<?>[] {String.class, CharSequence.class}) {
                try {
                    Method factory = raw.getMethod(name, param);
                    if (Modifier.isStatic(factory.getModifiers())
                            && raw.isAssignableFrom(factory.getReturnType())) {
                        return factory.invoke(null, text);
                    }
                } catch (NoSuchMethodException absent) {
                    // try the next way
                } catch (ReflectiveOperationException failed) {
                    throw new Mismatch("Cannot deserialize \"" + text + "\" into " + raw.getName()
                            + ": " + failed.getCause());
                }
            }
        }
        for (Class<?> param : new Class<?>[] {String.class, Object.class}) {
            try {
                return raw.getConstructor(param).newInstance(text);
            } catch (NoSuchMethodException absent) {
                // try the next way
            } catch (ReflectiveOperationException failed) {
                throw new Mismatch("Cannot deserialize \"" + text + "\" into " + raw.getName()
                        + ": " + failed.getCause());
            }
        }
        throw new Mismatch("Cannot deserialize \"" + text + "\" into " + raw.getName());
    }

    private static Object pojo(Object tree, Class<?> raw, int depth) {
        if (tree instanceof String) {
            return fromString((String) tree, raw);
        }
        if (!(tree instanceof Map)) {
            throw new Mismatch("Cannot deserialize " + describe(tree) + " into " + raw.getName());
        }
        Object target = instantiate(raw);
        Map<String, Method> setters = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Method method : raw.getMethods()) {
            String name = method.getName();
            if (name.length() > 3 && name.startsWith("set") && method.getParameterCount() == 1
                    && !Modifier.isStatic(method.getModifiers())) {
                setters.putIfAbsent(name.substring(3), method);
            }
        }
        Map<String, Field> fields = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Field field : raw.getFields()) {
            if (!Modifier.isStatic(field.getModifiers())) {
                fields.putIfAbsent(field.getName(), field);
            }
        }
        for (Map.Entry<?, ?> entry : ((Map<?, ?>) tree).entrySet()) {
            String member = String.valueOf(entry.getKey());
            try {
                Method setter = setters.get(member);
                if (setter != null) {
                    setter.invoke(target,
                            toJava(entry.getValue(), setter.getGenericParameterTypes()[0], depth + 1));
                    continue;
                }
                Field field = fields.get(member);
                if (field != null && !Modifier.isFinal(field.getModifiers())) {
                    field.set(target, toJava(entry.getValue(), field.getGenericType(), depth + 1));
                }
            } catch (ReflectiveOperationException failed) {
                throw new Mismatch("Cannot set " + member + " of " + raw.getName() + ": " + failed);
            }
        }
        return target;
    }

    private static String describe(Object tree) {
        if (tree instanceof Map) {
            return "a JSON object";
        }
        if (tree instanceof List) {
            return "a JSON array";
        }
        return Json.write(tree);
    }
}
