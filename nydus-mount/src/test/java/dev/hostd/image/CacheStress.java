package dev.hostd.image;

import dev.hostd.image.cache.ChunkCache;
import dev.hostd.image.format.ChunkInfo;
import dev.hostd.image.format.Digest;

import java.nio.file.Path;
import java.util.Random;

/**
 * A second process for {@link CacheProcessesIT}: puts and gets chunks of a small, seeded set in
 * random order against a cache shared with another process, with a limit that forces eviction.
 * Exits 0 when every get was either a miss or the right bytes, 3 when a get returned wrong bytes.
 */
public final class CacheStress {
    static final int CHUNKS = 48;
    static final int SIZE = 64 * 1024;

    static byte[] data(int i) {
        return SampleImage.random(1000 + i, SIZE);
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        long seed = Long.parseLong(args[1]);
        ChunkCache cache = new ChunkCache(dir, 20L * SIZE); // holds fewer than half the set: constant eviction
        ChunkInfo[] infos = new ChunkInfo[CHUNKS];
        for (int i = 0; i < CHUNKS; i++) {
            infos[i] = new ChunkInfo(Digest.sha256(data(i)), 0, 0, SIZE, SIZE, 0);
        }
        Random r = new Random(seed);
        int hits = 0;
        for (int op = 0; op < 3000; op++) {
            int i = r.nextInt(CHUNKS);
            if (r.nextBoolean()) {
                cache.put(infos[i], data(i));
            } else {
                byte[] got = cache.get(infos[i]);
                if (got != null) {
                    if (!java.util.Arrays.equals(got, data(i))) {
                        System.out.println("wrong bytes for chunk " + i);
                        System.exit(3);
                    }
                    hits++;
                }
            }
        }
        System.out.println("ok hits=" + hits);
    }
}
