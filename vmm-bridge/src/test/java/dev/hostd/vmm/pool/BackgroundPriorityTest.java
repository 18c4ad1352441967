package dev.hostd.vmm.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.hostd.vmm.internal.linux.Libc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class BackgroundPriorityTest {
    /** The nice value of one thread, field 19 of /proc/self/task/<tid>/stat (after the command's closing parenthesis). */
    private static int niceOf(int tid) throws Exception {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[16]);
    }

    @Test
    void lowersOnlyTheCallingThread() throws Exception {
        int callerBefore = niceOf(Libc.gettid());
        AtomicInteger tid = new AtomicInteger();
        AtomicInteger nice = new AtomicInteger(Integer.MIN_VALUE);
        Thread t = Thread.ofPlatform().start(() -> {
            tid.set(Libc.gettid());
            BackgroundPriority.applyToCurrentThread();
            try {
                nice.set(niceOf(tid.get()));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        t.join();
        assertEquals(BackgroundPriority.NICE, nice.get(), "the background thread's nice value");
        assertEquals(callerBefore, niceOf(Libc.gettid()), "the caller's nice value is untouched");
    }
}
