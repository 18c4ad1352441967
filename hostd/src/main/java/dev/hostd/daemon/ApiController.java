package dev.hostd.daemon;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Delete;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.annotation.Status;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import java.net.URI;

/**
 * API v1: templates and sandboxes. Engine calls block (KVM, waiting for guests), so these routes
 * run on the blocking executor, never on a Netty event loop. Creating a sandbox, the hot path, is
 * asynchronous and lives in {@link SandboxCreateController}.
 */
@Controller("/v1")
// Platform threads (Micronaut's IO pool), not virtual threads: a clone hands off to its vCPU
// thread and back several times, and each wake-up of a virtual thread waits for a carrier; measured
// with the API benchmark, a clone inside the daemon took 4.1 ms on virtual threads against 1.9 ms
// called directly, and as long as directly on this pool.
@ExecuteOn(TaskExecutors.IO)
public class ApiController {
    private final Engine engine;

    public ApiController(Engine engine) {
        this.engine = engine;
    }

    @Post("/templates")
    public HttpResponse<Dto.TemplateView> createTemplate(@Body Dto.TemplateRequest request) {
        Dto.TemplateView t = engine.buildTemplate(request);
        return HttpResponse.created(t, URI.create("/v1/templates/" + t.id()));
    }

    @Get("/templates")
    public Dto.TemplateList templates() {
        return engine.templates();
    }

    @Get("/templates/{id}")
    public Dto.TemplateView template(@PathVariable String id) {
        return engine.template(id);
    }

    @Post("/templates/{id}/verify")
    public Dto.VerificationView verify(@PathVariable String id) {
        return engine.verify(id);
    }

    @Delete("/templates/{id}")
    @Status(HttpStatus.NO_CONTENT)
    public void deleteTemplate(@PathVariable String id) {
        engine.deleteTemplate(id);
    }


    @Get("/sandboxes{?tenant,template,state}")
    public Dto.SandboxList sandboxes(@Nullable @QueryValue String tenant, @Nullable @QueryValue String template,
                                     @Nullable @QueryValue String state) {
        return engine.sandboxes(tenant, template, state);
    }

    @Get("/sandboxes/{id}")
    public Dto.SandboxView sandbox(@PathVariable String id) {
        return engine.sandbox(id);
    }

    @Delete("/sandboxes/{id}")
    @Status(HttpStatus.NO_CONTENT)
    public void deleteSandbox(@PathVariable String id) {
        engine.delete(id);
    }

    @Post("/sandboxes/{id}/invoke")
    public Dto.InvokeView invoke(@PathVariable String id, @Body Dto.InvokeRequest request) {
        return engine.invoke(id, request);
    }

    @Post("/sandboxes/{id}/pause")
    public Dto.SandboxView pause(@PathVariable String id) {
        return engine.pause(id);
    }

    @Post("/sandboxes/{id}/resume")
    public Dto.SandboxView resume(@PathVariable String id) {
        return engine.resume(id);
    }

    @Get("/sandboxes/{id}/console")
    @Produces(MediaType.TEXT_PLAIN)
    public String console(@PathVariable String id) {
        return engine.console(id);
    }
}
