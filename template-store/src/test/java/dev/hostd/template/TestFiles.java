package dev.hostd.template;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/** File surgery and process inspection for the bad-input tests. */
final class TestFiles {
    private TestFiles() {}

    static void deleteTree(Path dir) throws IOException {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Inverts every bit of the byte at {@code offset}, in place. */
    static void flipByte(Path file, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            if (ch.read(b, offset) != 1) {
                throw new IOException("no byte at " + offset + " in " + file);
            }
            b.put(0, (byte) ~b.get(0));
            ch.write(b.flip(), offset);
        }
    }

    static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    /**
     * Turns a 1.x state file into one that claims major version 2, with a header CRC32C that
     * matches, so only the version check can refuse it.
     */
    static void patchMajorVersion(Path stateFile, int major) throws IOException {
        byte[] bytes = Files.readAllBytes(stateFile);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(8, (short) major);
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, 28);
        b.putInt(28, (int) crc.getValue());
        Files.write(stateFile, bytes);
    }

    /** Names of the entries of {@code dir} (sorted). */
    static List<String> names(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Open file descriptors of this process (the listing's own fd is counted every time, so counts compare). */
    static int openFds() {
        return names(Path.of("/proc/self/fd")).size();
    }

    /** Mappings of this process whose file path contains {@code pathPart} (each clone maps its template's memory file once). */
    static long mappingsOf(String pathPart) {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(pathPart)).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Live threads whose name contains {@code part}, once that count is {@code expected} or after a
     * 20 s hang guard: a pooled vCPU thread takes its pool name back just after its VM stopped.
     */
    static long awaitThreadsNamed(String part, long expected) throws InterruptedException {
        long end = System.nanoTime() + 20_000_000_000L;
        long n;
        while ((n = threadsNamed(part)) != expected && System.nanoTime() - end < 0) {
            Thread.sleep(5);
        }
        return n;
    }

    /** Live vCPU threads whose name contains {@code part}. */
    static long threadsNamed(String part) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().contains(part)).count();
    }
}
