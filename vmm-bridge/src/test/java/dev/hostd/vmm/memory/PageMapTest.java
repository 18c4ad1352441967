package dev.hostd.vmm.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Private pages of a copy-on-write mapping, as a clone's RAM is, read from /proc/self/pagemap. */
class PageMapTest {
    @Test
    void onlyWrittenPagesOfAPrivateMappingAreListedAndCounted() {
        try (MemoryFile file = MemoryFile.anonymous("pagemap-test", 64 * 4096L)) {
            try (MemoryMapping shared = file.mapShared()) {
                shared.segment().set(ValueLayout.JAVA_BYTE, 5 * 4096L, (byte) 1); // the template's page, not the clone's
            }
            try (MemoryMapping clone = file.mapPrivate()) {
                byte read = clone.segment().get(ValueLayout.JAVA_BYTE, 5 * 4096L); // a read maps the file's page
                assertEquals(1, read);
                assertEquals(0, clone.privatePageCount(), "reading copies nothing");
                for (long page : new long[] {3, 5, 40}) {
                    clone.segment().set(ValueLayout.JAVA_BYTE, page * 4096 + 7, (byte) 2);
                }
                assertArrayEquals(new long[] {3 * 4096L, 5 * 4096L, 40 * 4096L}, clone.privatePageOffsets());
                assertEquals(3, clone.privatePageCount());
            }
        }
    }
}
