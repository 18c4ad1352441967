package dev.hostd.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.Yaml;

/**
 * docs/openapi.yaml, read with SnakeYAML: the set of documented operations, and a small validator
 * that checks a real answer against the documented schema (required members, types, enums, nested
 * objects and arrays, $ref) and media type.
 */
final class OpenApi {
    static final Path FILE = locate();

    private final Map<String, Object> root;

    OpenApi() {
        try (InputStream in = Files.newInputStream(FILE)) {
            this.root = new Yaml().load(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        assertEquals("3.1.0", String.valueOf(root.get("openapi")), "OpenAPI 3.1");
    }

    private static Path locate() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path f = p.resolve("docs/openapi.yaml");
            if (Files.isRegularFile(f)) {
                return f;
            }
        }
        throw new IllegalStateException("docs/openapi.yaml not found above " + Path.of("").toAbsolutePath());
    }

    /** "GET /v1/sandboxes/{id}" for every documented operation. */
    Set<String> operations() {
        Set<String> ops = new TreeSet<>();
        paths().forEach((path, item) -> map(item).keySet().stream()
                .filter(k -> Set.of("get", "post", "put", "delete", "patch").contains(k))
                .forEach(m -> ops.add(m.toUpperCase(Locale.ROOT) + " " + path)));
        return ops;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> paths() {
        return (Map<String, Object>) root.get("paths");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    /** The documented path template an actual path matches. */
    String template(String actualPath) {
        String path = actualPath.contains("?") ? actualPath.substring(0, actualPath.indexOf('?')) : actualPath;
        for (String t : paths().keySet()) {
            if (Pattern.matches(t.replaceAll("\\{[^}]+}", "[^/]+"), path)) {
                return t;
            }
        }
        return null;
    }

    /** Checks that an answer is documented: its status (or default), media type and schema. */
    /** Expects {@code status} and an answer the document allows. */
    UdsHttpClient.Response expect(int status, UdsHttpClient.Response r) {
        assertEquals(status, r.status(), r::toString);
        validate(r);
        return r;
    }

    /** Expects an RFC 9457 problem with {@code status} and the stable {@code code}; returns it. */
    JsonNode problem(int status, String code, UdsHttpClient.Response r) {
        expect(status, r);
        assertTrue(r.contentType().startsWith("application/problem+json"), r::toString);
        JsonNode p = r.json();
        assertEquals(code, p.get("code").asText(), r::toString);
        assertEquals("https://hostd.dev/problems/" + code, p.get("type").asText());
        assertEquals(status, p.get("status").asInt());
        return p;
    }

    void validate(UdsHttpClient.Response r) {
        String t = template(r.path());
        if (t == null) {
            assertEquals(404, r.status(), "undocumented path must be 404: " + r);
            validateSchema(ref("#/components/schemas/Problem"), r.json(), "problem");
            return;
        }
        Map<String, Object> op = map(map(paths().get(t)).get(r.method().toLowerCase(Locale.ROOT)));
        if (op == null) {
            assertEquals(405, r.status(), "undocumented method must be 405: " + r);
            validateSchema(ref("#/components/schemas/Problem"), r.json(), "problem");
            return;
        }
        Map<String, Object> responses = map(op.get("responses"));
        Object resp = responses.get(String.valueOf(r.status()));
        if (resp == null) {
            assertTrue(r.status() >= 400, "success status " + r.status() + " not documented for " + r.method() + " " + t);
            resp = responses.get("default");
        }
        assertNotNull(resp, "status " + r.status() + " not documented for " + r.method() + " " + t);
        Map<String, Object> response = resolve(map(resp));
        Map<String, Object> content = map(response.get("content"));
        if (content == null) {
            assertEquals(0, r.body().length, "documented without a body: " + r);
            return;
        }
        assertNotNull(r.contentType(), "no content type: " + r);
        String mediaType = r.contentType().split(";")[0].trim();
        Object media = content.get(mediaType);
        assertNotNull(media, "media type " + mediaType + " not documented for " + r.status() + " of " + r.method() + " " + t + ": " + content.keySet());
        Map<String, Object> schema = map(map(media).get("schema"));
        if (mediaType.endsWith("json")) {
            validateSchema(schema, r.json(), r.method() + " " + t + " " + r.status());
        }
    }

    private Map<String, Object> resolve(Map<String, Object> node) {
        while (node.containsKey("$ref")) {
            node = ref((String) node.get("$ref"));
        }
        return node;
    }

    private Map<String, Object> ref(String ref) {
        Object o = root;
        for (String part : ref.substring(2).split("/")) {
            o = map(o).get(part);
        }
        assertNotNull(o, "dangling $ref " + ref);
        return map(o);
    }

    @SuppressWarnings("unchecked")
    private void validateSchema(Map<String, Object> schema, JsonNode value, String where) {
        schema = resolve(schema);
        if (schema.containsKey("oneOf")) { // exactly one alternative must hold
            int holds = 0;
            for (Object alternative : (List<Object>) schema.get("oneOf")) {
                try {
                    validateSchema(map(alternative), value, where);
                    holds++;
                } catch (AssertionError e) {
                    // not this one
                }
            }
            assertEquals(1, holds, where + ": " + value + " must match exactly one of " + schema.get("oneOf"));
            return;
        }
        Object type = schema.get("type");
        if (type instanceof List<?> types) { // OpenAPI 3.1: [integer, "null"]
            if (value.isNull()) {
                assertTrue(types.contains("null"), where + ": null is not allowed, expected " + types);
                return;
            }
            type = types.stream().<Object>map(t -> t).filter(t -> !"null".equals(t)).findFirst().orElse("null");
        }
        if ("null".equals(type)) {
            assertTrue(value.isNull(), where + ": expected null, got " + value);
            return;
        }
        if (schema.containsKey("enum")) {
            List<String> allowed = new ArrayList<>();
            ((List<Object>) schema.get("enum")).forEach(e -> allowed.add(String.valueOf(e)));
            assertTrue(allowed.contains(value.asText()), where + ": " + value + " not in " + allowed);
        }
        if (type == null) {
            return;
        }
        switch ((String) type) {
            case "object" -> {
                assertTrue(value.isObject(), where + ": expected an object, got " + value);
                for (Object req : (List<Object>) schema.getOrDefault("required", List.of())) {
                    assertTrue(value.has((String) req) && !value.get((String) req).isNull(), where + ": required member '" + req + "' missing in " + value);
                }
                Map<String, Object> props = (Map<String, Object>) schema.getOrDefault("properties", Map.of());
                value.properties().forEach(e -> {
                    Object p = props.get(e.getKey());
                    if (p == null) {
                        fail(where + ": member '" + e.getKey() + "' is not documented");
                    }
                    validateSchema(map(p), e.getValue(), where + "." + e.getKey());
                });
            }
            case "array" -> {
                assertTrue(value.isArray(), where + ": expected an array, got " + value);
                for (JsonNode item : value) {
                    validateSchema(map(schema.get("items")), item, where + "[]");
                }
            }
            case "string" -> assertTrue(value.isTextual(), where + ": expected a string, got " + value);
            case "integer" -> assertTrue(value.isIntegralNumber(), where + ": expected an integer, got " + value);
            case "number" -> assertTrue(value.isNumber(), where + ": expected a number, got " + value);
            case "boolean" -> assertTrue(value.isBoolean(), where + ": expected a boolean, got " + value);
            default -> fail("validator does not know type " + type);
        }
    }
}
