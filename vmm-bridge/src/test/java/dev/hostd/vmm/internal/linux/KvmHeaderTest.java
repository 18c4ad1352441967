package dev.hostd.vmm.internal.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.UnionLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the hand-written bindings against the machine's real headers, the way bindgen's layout
 * tests do: a C program generated from our layouts prints sizeof/offsetof for every struct and
 * field, and the value of every constant, compiled with gcc against {@code <linux/kvm.h>}.
 */
class KvmHeaderTest {
    @TempDir
    Path dir;

    @Test
    void everyStructSizeAndFieldOffsetMatchesTheHeader() throws Exception {
        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder c = new StringBuilder();
        KvmLayouts.ALL.forEach((name, layout) -> {
            expected.put(name, layout.byteSize());
            c.append(String.format("  printf(\"%s %%zu\\n\", sizeof(struct %s));%n", name, name));
            emitMembers(c, expected, name, "", layout, 0);
        });
        Map<String, Long> actual = compileAndRun(c.toString());
        assertTrue(expected.size() > 150, "the check covers every field: " + expected.size());
        expected.forEach((key, value) -> assertEquals(actual.get(key), value, "size/offset of " + key));
    }

    @Test
    void everyConstantMatchesTheHeader() throws Exception {
        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder c = new StringBuilder();
        for (Class<?> holder : List.of(kvm_h.class, Libc.class)) {
            for (Field field : holder.getDeclaredFields()) {
                int mods = field.getModifiers();
                if (!Modifier.isPublic(mods) || !Modifier.isStatic(mods) || !field.getType().isPrimitive()) {
                    continue;
                }
                String macro = field.getName().equals("SIGSET_BYTES") ? "sizeof(sigset_t)" : field.getName();
                expected.put(field.getName(), ((Number) field.get(null)).longValue());
                c.append(String.format("  printf(\"%s %%lld\\n\", (long long)(%s));%n", field.getName(), macro));
            }
        }
        Map<String, Long> actual = compileAndRun(c.toString());
        expected.forEach((key, value) -> assertEquals(actual.get(key), value, "value of " + key));
    }

    /** The snapshot format checks struct sizes with its own constants; they must be the bindings' sizes. */
    @Test
    void snapshotStructSizesAreTheBindingsSizes() throws Exception {
        int checked = 0;
        for (Field field : dev.hostd.vmm.snapshot.KvmAbi.class.getFields()) {
            String name = field.getName();
            if (!name.endsWith("_SIZE")) {
                continue;
            }
            String struct = name.substring(0, name.length() - "_SIZE".length()).toLowerCase();
            assertTrue(KvmLayouts.ALL.containsKey(struct), "a binding for " + struct);
            assertEquals(KvmLayouts.ALL.get(struct).byteSize(), ((Number) field.get(null)).longValue(), name);
            checked++;
        }
        assertTrue(checked >= 12, "checked " + checked + " sizes");
    }

    /** Emits offsetof for each named member; anonymous unions ("anon_*") are transparent, as in C. */
    private static void emitMembers(StringBuilder c, Map<String, Long> expected, String struct, String prefix,
                                    GroupLayout group, long base) {
        long offset = 0;
        for (MemoryLayout member : group.memberLayouts()) {
            long at = base + (group instanceof UnionLayout ? 0 : offset);
            offset += member.byteSize();
            String name = member.name().orElse("");
            if (name.isEmpty() || name.startsWith("_")) {
                continue;
            }
            boolean anonymous = name.startsWith("anon_");
            String path = anonymous ? prefix : prefix + name;
            if (!anonymous) {
                expected.put(struct + "." + path, at);
                c.append(String.format("  printf(\"%s.%s %%zu\\n\", offsetof(struct %s, %s));%n", struct, path, struct, path));
            }
            if (member instanceof GroupLayout nested && !(member instanceof SequenceLayout)) {
                emitMembers(c, expected, struct, anonymous ? prefix : path + ".", nested, at);
            }
        }
    }

    private Map<String, Long> compileAndRun(String body) throws IOException, InterruptedException {
        Path source = dir.resolve("check.c");
        Files.writeString(source, """
                #define _GNU_SOURCE
                #include <stddef.h>
                #include <stdio.h>
                #include <signal.h>
                #include <fcntl.h>
                #include <sys/mman.h>
                #include <sys/eventfd.h>
                #include <sys/resource.h>
                #include <linux/kvm.h>
                int main(void) {
                %s  return 0;
                }
                """.formatted(body));
        Path binary = dir.resolve("check");
        run(List.of("gcc", "-O0", "-o", binary.toString(), source.toString()));
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : run(List.of(binary.toString())).split("\n")) {
            String[] parts = line.trim().split(" ");
            values.put(parts[0], Long.parseLong(parts[1]));
        }
        return values;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, process.exitValue(), command + " failed:\n" + output);
        return output;
    }
}
