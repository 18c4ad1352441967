package dev.hostd.vmm.loader.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
 * Proves {@link ZeroPage} against the machine's real {@code <asm/bootparam.h>} (linux-libc-dev), as
 * KvmHeaderTest does for kvm.h: a generated C program prints offsetof/sizeof of every field and the
 * value of every macro-named constant, and each must equal the Java value.
 */
class ZeroPageHeaderTest {
    /** Java-only constants with no macro of that name in the headers. */
    private static final List<String> NOT_MACROS = List.of("SIZE", "E820_ENTRY_SIZE", "HDRS_MAGIC", "BOOT_FLAG_MAGIC",
            "LOADER_UNDEFINED");

    @TempDir
    Path dir;

    @Test
    void everyFieldOffsetAndSizeMatchesTheHeader() throws Exception {
        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder c = new StringBuilder();
        expected.put("sizeof(struct boot_params)", (long) ZeroPage.SIZE);
        expected.put("sizeof(struct boot_e820_entry)", (long) ZeroPage.E820_ENTRY_SIZE);
        for (Field field : ZeroPage.class.getFields()) {
            if (field.getType() != ZeroPage.Field.class) {
                continue;
            }
            ZeroPage.Field f = (ZeroPage.Field) field.get(null);
            expected.put("offsetof " + f.path(), (long) f.offset());
            expected.put("sizeof " + f.path(), (long) f.size());
        }
        expected.keySet().forEach(key -> c.append(String.format("  printf(\"%s=%%zu\\n\", %s);%n", key, cExpression(key))));
        Map<String, Long> actual = compileAndRun(c.toString());
        assertTrue(expected.size() >= 60, "the check covers every field: " + expected.size());
        expected.forEach((key, value) -> assertEquals(actual.get(key), value, key));
    }

    @Test
    void everyMacroNamedConstantMatchesTheHeader() throws Exception {
        Map<String, Long> expected = new LinkedHashMap<>();
        StringBuilder c = new StringBuilder();
        for (Field field : ZeroPage.class.getFields()) {
            if (!Modifier.isStatic(field.getModifiers()) || field.getType() != int.class || NOT_MACROS.contains(field.getName())) {
                continue;
            }
            expected.put(field.getName(), (long) field.getInt(null));
            c.append(String.format("  printf(\"%s=%%zu\\n\", (size_t)(%s));%n", field.getName(), field.getName()));
        }
        Map<String, Long> actual = compileAndRun(c.toString());
        assertTrue(expected.size() >= 9, "checked " + expected.keySet());
        expected.forEach((key, value) -> assertEquals(actual.get(key), value, "value of " + key));
    }

    private static String cExpression(String key) {
        if (key.startsWith("offsetof ")) {
            return "offsetof(struct boot_params, " + key.substring(9) + ")";
        }
        if (key.startsWith("sizeof ")) {
            return "sizeof(((struct boot_params *)0)->" + key.substring(7) + ")";
        }
        return key;
    }

    private Map<String, Long> compileAndRun(String body) throws IOException, InterruptedException {
        Path source = dir.resolve("check.c");
        Files.writeString(source, """
                #include <stddef.h>
                #include <stdio.h>
                #include <asm/bootparam.h>
                #include <asm/e820.h>
                int main(void) {
                %s  return 0;
                }
                """.formatted(body));
        Path binary = dir.resolve("check");
        run(List.of("gcc", "-O0", "-o", binary.toString(), source.toString()));
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : run(List.of(binary.toString())).split("\n")) {
            int eq = line.lastIndexOf('=');
            values.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1).trim()));
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
