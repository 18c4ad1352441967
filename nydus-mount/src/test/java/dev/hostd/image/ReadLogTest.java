package dev.hostd.image;

import dev.hostd.image.format.Bootstrap;
import dev.hostd.image.trace.ReadLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The FUSE read log's granularity arithmetic: aligned blocks, clipped at end of file, each counted once. */
class ReadLogTest {
    @TempDir
    Path tmp;

    @Test
    void touchedBytesWidenReadsToAlignedBlocksOfEachFile() throws IOException {
        SampleImage.write(tmp.resolve("oci"), 0);
        Bootstrap b = ImageConverter.convert(tmp.resolve("oci"), tmp.resolve("img"), ImageConverter.Options.defaults()).bootstrap();
        int text = b.lookup("/usr/bin/text");
        long size = b.node(text).size();
        assertEquals(2L * 1024 * 1024 + 5, size);
        int hostname = b.lookup("/etc/hostname");
        ReadLog log = new ReadLog();
        log.add(text, 0, 4096);
        log.add(text, 100, 10);              // inside the first page again: counted once
        log.add(text, (1 << 20) + 100, 10);  // one page in the second MiB
        log.add(text, size - 1, 4096);       // the last page holds 5 bytes of the file
        log.add(text, size + 10, 4096);      // past the end: nothing
        log.add(hostname, 0, 131072);        // a short file: its size
        long h = b.node(hostname).size();
        assertEquals(4096 + 4096 + 5 + h, log.touchedBytes(b, 4096));
        assertEquals(65536 + 65536 + 5 + h, log.touchedBytes(b, 65536));
        assertEquals(size + h, log.touchedBytes(b, 1 << 20));
        assertEquals(6, log.reads().size());
        assertThrows(IllegalArgumentException.class, () -> log.touchedBytes(b, 0));

        Path file = tmp.resolve("reads.txt");
        log.write(file, b);
        List<String> lines = Files.readAllLines(file);
        assertEquals(text + " 0 4096 /usr/bin/text", lines.getFirst());
        assertEquals(hostname + " 0 131072 /etc/hostname", lines.getLast());
    }
}
