package dev.hostd.bench;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.template.Cloner;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The API benchmark's baseline: the engine called directly in the benchmark's own JVM, with the
 * daemon's template size and VMs made ahead, kept open so its blocks can alternate with the
 * daemon's and both see the same host.
 */
final class DirectClones implements AutoCloseable {
    private final Kvm kvm;
    private final TemplateStore store;
    private final Template template;
    private final Cloner cloner;
    private int nextId;

    DirectClones(Path root, int vmsMadeAhead, Duration wait) {
        this.kvm = Kvm.open();
        this.store = TemplateStore.open(root, kvm, wait, vmsMadeAhead);
        this.template = store.build(new TemplateSpec("direct", TestGuestImage.bytes(), 64));
        this.cloner = new Cloner(kvm, wait, 65536);
    }

    /** Clone-to-ready latencies of {@code n} sequential clones, each deleted before the next. */
    double[] latencies(int n) {
        double[] lat = CloneBenchmark.latencies(cloner, template, n, nextId);
        nextId += n;
        return lat;
    }

    @Override
    public void close() {
        store.delete(template.id());
        store.close();
        kvm.close();
    }
}
