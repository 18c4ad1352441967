package dev.hostd.vmm.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The eventfd counter as the devices use it: non-blocking take, blocking await for a service thread. */
@Timeout(value = 60, unit = TimeUnit.SECONDS) // hang guard only
class EventFdTest {
    @Test
    void takeReturnsTheSignalsSinceTheLastTakeAndNeverBlocks() {
        try (EventFd e = EventFd.create()) {
            assertEquals(0, e.take());
            e.signal();
            e.signal();
            assertEquals(2, e.take());
            assertEquals(0, e.take());
            assertThrows(IllegalStateException.class, e::await);
        }
    }

    @Test
    void awaitSleepsUntilAnotherThreadSignals() throws Exception {
        try (EventFd e = EventFd.createBlocking()) {
            e.signal();
            assertEquals(1, e.await(), "a signal before the wait is not lost");
            Thread signaller = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(50); // not a timing assertion: await must return whenever the signal comes
                } catch (InterruptedException ignored) {
                    // signal anyway
                }
                e.signal();
            });
            assertEquals(1, e.await());
            signaller.join();
            assertThrows(IllegalStateException.class, e::take);
        }
    }
}
