package dev.hostd.demo;

import dev.hostd.guest.TestGuestImage;
import dev.hostd.template.Cloner;
import dev.hostd.template.Sandbox;
import dev.hostd.template.Template;
import dev.hostd.template.TemplateSpec;
import dev.hostd.template.TemplateStore;
import dev.hostd.vmm.agent.InvokeResult;
import dev.hostd.vmm.identity.Identity;
import dev.hostd.vmm.kvm.Kvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * The main job on embedded defaults: build a Basepoint from the test guest in a temporary
 * shared-memory directory, clone sandboxes from it, invoke each, print what happened, clean up.
 * Usage: {@code scripts/run-demo [sandboxes]}.
 */
public final class Demo {
    private static final Duration WAIT = Duration.ofSeconds(30);

    public static void main(String[] args) throws Exception {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : 8;
        Path root = Files.createTempDirectory(Path.of("/dev/shm"), "hostd-demo");
        System.out.println("hostd demo: templates in " + root);
        try (Kvm kvm = Kvm.open(); TemplateStore store = TemplateStore.open(root, kvm, WAIT)) {
            long t0 = System.nanoTime();
            Template template = store.build(new TemplateSpec("test-guest", TestGuestImage.bytes(), 64));
            System.out.printf(Locale.ROOT, "built template %s (%d MiB RAM, state + memory in %s) in %.1f ms%n",
                    template.id(), template.memoryBytes() >> 20, template.directory(), ms(t0));
            System.out.println("  verify: " + store.verify(template.id()).detail());

            Cloner cloner = new Cloner(kvm, WAIT, 16 << 10);
            List<Sandbox> sandboxes = new ArrayList<>();
            System.out.printf("%n%-8s %-17s %-15s %-10s %9s %9s  %s%n", "sandbox", "mac", "ipv4", "hostname", "clone ms", "echo ms", "sha256(payload) from the guest");
            try {
                for (int i = 1; i <= count; i++) {
                    Identity identity = new Identity(new byte[] {0x02, 0, 0, 0, 0, (byte) i}, new byte[] {(byte) 198, 18, 0, (byte) (10 + i)},
                            15, Identity.parseIpv4("198.18.0.1"), "fn-" + i, "sbx-" + i, "tenant-demo");
                    long c0 = System.nanoTime();
                    Sandbox sandbox = cloner.clone(template, identity);
                    double cloneMs = ms(c0);
                    sandboxes.add(sandbox);
                    byte[] payload = ("hello from sandbox " + i).getBytes(StandardCharsets.UTF_8);
                    long e0 = System.nanoTime();
                    InvokeResult echo = sandbox.invoke("echo", payload, WAIT);
                    double echoMs = ms(e0);
                    InvokeResult hash = sandbox.invoke("sha256", payload, WAIT);
                    String reported = sandbox.report().sandboxId() + "@" + Identity.formatIpv4(sandbox.report().ipv4());
                    System.out.printf(Locale.ROOT, "%-8s %-17s %-15s %-10s %9.2f %9.3f  %s  (echo %s, agent says %s)%n",
                            sandbox.id(), Identity.formatMac(identity.mac()), Identity.formatIpv4(identity.ipv4()), identity.hostname(),
                            cloneMs, echoMs, HexFormat.of().formatHex(hash.output()).substring(0, 16) + "…",
                            new String(echo.output(), StandardCharsets.UTF_8).equals(new String(payload, StandardCharsets.UTF_8)) ? "ok" : "WRONG",
                            reported);
                }
                InvokeResult touch = sandboxes.getFirst().invoke("touch", new byte[] {8, 0, 0, 0}, WAIT);
                System.out.printf("%n%s wrote 8 MiB of its memory (%s); the other %d sandboxes still share every template page%n",
                        sandboxes.getFirst().id(), touch.statusName(), sandboxes.size() - 1);
            } finally {
                long d0 = System.nanoTime();
                sandboxes.forEach(Sandbox::close);
                System.out.printf(Locale.ROOT, "deleted %d sandboxes in %.1f ms%n", sandboxes.size(), ms(d0));
            }
            int cycles = 300;
            double[] lat = new double[cycles];
            for (int i = 0; i < cycles; i++) {
                Identity identity = new Identity(new byte[] {0x02, 0, 0, 1, (byte) (i >> 8), (byte) i}, new byte[] {(byte) 198, 19, (byte) (i >> 8), (byte) i},
                        15, Identity.parseIpv4("198.19.0.1"), "warm", "warm-" + i, "tenant-demo");
                long c0 = System.nanoTime();
                cloner.clone(template, identity).close();
                lat[i] = ms(c0);
            }
            java.util.Arrays.sort(lat);
            System.out.printf(Locale.ROOT, "then %d clone/delete cycles with a warm JIT: clone-to-ready p50 %.2f ms, p99 %.2f ms (scripts/bench-clone measures properly)%n",
                    cycles, lat[cycles / 2], lat[cycles * 99 / 100]);
            store.delete(template.id());
            System.out.println("deleted template " + template.id());
        } finally {
            try (var walk = Files.walk(root)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static double ms(long start) {
        return (System.nanoTime() - start) / 1e6;
    }
}
