package dev.hostd.daemon;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** Futures handed to Micronaut fail with the engine's own exception, so its problem mapping sees the real cause. */
final class Futures {
    private Futures() {}

    static <T> CompletableFuture<T> unwrapped(CompletableFuture<T> f) {
        CompletableFuture<T> out = new CompletableFuture<>();
        f.whenComplete((value, error) -> {
            if (error == null) {
                out.complete(value);
            } else {
                out.completeExceptionally(error instanceof CompletionException && error.getCause() != null ? error.getCause() : error);
            }
        });
        return out;
    }
}
