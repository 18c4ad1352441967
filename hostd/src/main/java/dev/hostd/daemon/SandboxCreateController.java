package dev.hostd.daemon;

import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.scheduling.TaskExecutors;
import jakarta.inject.Named;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

/**
 * POST /v1/sandboxes, apart from {@link ApiController} because it runs on the event loop that
 * read the request, not on the IO pool: it starts the clone there (short system calls; the engine
 * moves a start that must make a VM or attach a TAP to the IO pool) and answers from the thread
 * that sees the guest become ready. Each thread hand-off costs a wake-up, which on a host whose
 * idle CPUs halt is tens of microseconds; this path has two fewer than a blocking route
 * (docs/benchmarks/api.md).
 */
@Controller("/v1")
public class SandboxCreateController {
    private final Engine engine;
    private final ExecutorService blocking;

    public SandboxCreateController(Engine engine, @Named(TaskExecutors.IO) ExecutorService blocking) {
        this.engine = engine;
        this.blocking = blocking;
    }

    @Post("/sandboxes")
    public CompletableFuture<HttpResponse<Dto.SandboxView>> createSandbox(@Body Dto.SandboxRequest request) {
        return Futures.unwrapped(engine.startCreate(request, blocking).thenApply(s -> HttpResponse.created(s, URI.create("/v1/sandboxes/" + s.id()))
                .header(ServerTiming.HEADER, "clone;dur=" + ServerTiming.millis((long) (s.cloneMillis() * 1e6)))));
    }
}
