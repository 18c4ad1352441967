package dev.hostd.bench.image;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The baseline, as docker/containerd pull: the manifest, then every gzip layer downloaded (three at
 * a time, as their default), each unpacked by {@code tar} as soon as it and the layers below it are
 * in. Returns when the root directory is complete.
 */
final class FullPull {
    private FullPull() {}

    record Result(double downloadedAtMs, double unpackedAtMs, long bytes) {}

    static Result pull(RegistryClient registry, String repo, String tag, Path scratch, Path root) throws Exception {
        long t0 = System.nanoTime();
        OciImage image = registry.manifest(repo, tag);
        Files.createDirectories(root);
        List<Future<Long>> downloads = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            for (int i = 0; i < image.layers().size(); i++) {
                OciImage.Blob layer = image.layers().get(i);
                Path file = scratch.resolve("layer-" + i + ".tar.gz");
                downloads.add(pool.submit(() -> {
                    registry.download(repo, layer, file);
                    return System.nanoTime();
                }));
            }
            long downloaded = 0;
            for (int i = 0; i < downloads.size(); i++) {
                downloaded = Math.max(downloaded, downloads.get(i).get());
                Path layer = scratch.resolve("layer-" + i + ".tar.gz");
                LayerUnpacker.unpack(layer, root);
                Files.delete(layer);
            }
            return new Result((downloaded - t0) / 1e6, (System.nanoTime() - t0) / 1e6, image.layerBytes());
        }
    }
}
