package dev.hostd.daemon;

import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;

/** Liveness, readiness, the host's state and the metrics. */
@Controller
@ExecuteOn(TaskExecutors.IO)
public class HostController {
    private final Engine engine;
    private final Metrics metrics;

    public HostController(Engine engine, Metrics metrics) {
        this.engine = engine;
        this.metrics = metrics;
    }

    @Get("/v1/health")
    public Dto.StatusView health() {
        return new Dto.StatusView("UP");
    }

    @Get("/v1/ready")
    public Dto.StatusView ready() {
        Engine.Phase p = engine.phase();
        if (p != Engine.Phase.READY) {
            throw new ApiException(ProblemCode.UNAVAILABLE, "hostd is " + p.name().toLowerCase() + " (" + engine.phaseDetail() + ")");
        }
        return new Dto.StatusView("READY");
    }

    @Get("/v1/host")
    public Dto.HostView host() {
        return engine.host();
    }

    @Get("/metrics")
    @Produces(Metrics.CONTENT_TYPE)
    public String metrics() {
        return metrics.scrape();
    }
}
