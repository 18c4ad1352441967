package dev.hostd.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** flock on a directory: exclusive between open file descriptions (two daemons, or two in one JVM), released on close. */
class DirectoryLockTest {
    @TempDir
    Path dir;

    @Test
    void aSecondLockIsRefusedUntilTheFirstIsClosed() throws IOException {
        DirectoryLock first = DirectoryLock.tryLock(dir);
        assertNotNull(first);
        try {
            assertNull(DirectoryLock.tryLock(dir), "held: a second lock is refused without waiting");
            assertEquals(Files.readAttributes(dir, BasicFileAttributes.class).fileKey(),
                    Files.readAttributes(first.procFd(), BasicFileAttributes.class).fileKey(), "the fd is the directory's");
        } finally {
            first.close();
        }
        first.close(); // idempotent
        try (DirectoryLock again = DirectoryLock.tryLock(dir)) {
            assertNotNull(again, "closing released it");
        }
    }

    @Test
    void aMissingDirectoryIsAnErrorNamingIt() {
        Path missing = dir.resolve("missing");
        IOException e = assertThrows(IOException.class, () -> DirectoryLock.tryLock(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("errno 2"), e.getMessage());
    }
}
