package dev.hostd.bench;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Scratch: clone latency at a glance. */
public final class QuickClone {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 500;
        Path root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-quick");
        try (Kvm kvm = Kvm.open(); TemplateStore store = TemplateStore.open(root, kvm, Duration.ofSeconds(20))) {
            Template t = store.build(new TemplateSpec("quick", TestGuestImage.bytes(), 64));
            Cloner cloner = new Cloner(kvm, Duration.ofSeconds(20), 16 << 10);
            for (int round = 0; round < 3; round++) {
                double[] lat = new double[n];
                for (int i = 0; i < n; i++) {
                    Identity id = identity(i);
                    long t0 = System.nanoTime();
                    Sandbox s = cloner.clone(t, id);
                    lat[i] = (System.nanoTime() - t0) / 1e6;
                    s.close();
                }
                System.out.println("round " + round + ": " + Stats.of(lat));
            }
            store.delete("quick");
        } finally {
            try (var w = Files.walk(root)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    static Identity identity(int n) {
        byte[] mac = {0x02, 0x00, 0x00, (byte) (n >> 16), (byte) (n >> 8), (byte) n};
        byte[] ip = {(byte) 198, (byte) (18 + ((n >> 16) & 1)), (byte) (n >> 8), (byte) n};
        return new Identity(mac, ip, 15, Identity.parseIpv4("198.18.0.1"), "sbx-" + n, "sbx-" + n, "bench");
    }
}
