package dev.hostd.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hostctl template ...}: Basepoint templates. */
@Command(name = "template", description = "Manage templates (Basepoints): list, create, get, verify, delete, inspect.",
        subcommands = {
                TemplateCommands.ListTemplates.class,
                TemplateCommands.Create.class,
                TemplateCommands.Get.class,
                TemplateCommands.Verify.class,
                TemplateCommands.Delete.class,
                TemplateInspect.class,
        })
final class TemplateCommands {

    static Table table() {
        return Table.withHeaders("ID", "MEMORY", "CREATED", "IMAGE SHA256", "FORMAT", "GUEST", "DIRECTORY").right(1);
    }

    static void addRow(Table t, JsonNode tpl) {
        String sha = Format.text(tpl, "guestImageSha256");
        t.row(Format.text(tpl, "id"), Format.text(tpl, "memoryMiB") + " MiB", Format.text(tpl, "createdAt"),
                sha.length() > 12 ? sha.substring(0, 12) : sha, Format.text(tpl, "formatVersion"),
                Format.text(tpl, "guest"), Format.text(tpl, "directory"));
    }

    static String describe(JsonNode tpl) {
        return Table.keyValue()
                .row("id:", Format.text(tpl, "id"))
                .row("guest:", Format.text(tpl, "guest"))
                .row("vcpus:", Format.text(tpl, "vcpus"))
                .row("memory:", Format.text(tpl, "memoryMiB") + " MiB")
                .row("created:", Format.text(tpl, "createdAt"))
                .row("image sha256:", Format.text(tpl, "guestImageSha256"))
                .row("format:", Format.text(tpl, "formatVersion"))
                .row("directory:", Format.text(tpl, "directory"))
                .render();
    }

    @Command(name = "list", description = "List the templates, and those the daemon refused to adopt.")
    static final class ListTemplates extends ApiCommand {
        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.get("v1", "templates")).json(), ListTemplates::tables);
        }

        /** The templates, then those refused at adoption if any. */
        private static String tables(JsonNode all) {
            Table t = table();
            all.path("templates").forEach(tpl -> addRow(t, tpl));
            StringBuilder out = new StringBuilder(t.render());
            if (all.path("rejected").size() > 0) {
                Table r = Table.withHeaders("REJECTED", "DIRECTORY", "REASON");
                all.path("rejected").forEach(x -> r.row(Format.text(x, "id"), Format.text(x, "directory"),
                        Format.text(x, "reason")));
                out.append(System.lineSeparator()).append(r.render());
            }
            return out.toString();
        }
    }

    @Command(name = "create", description = {"Build a template: boot the guest, snapshot it into shared memory.",
            "The test guest needs --image; a Linux guest (--guest linux) takes --kernel, --initramfs and --vcpus",
            "(daemon defaults if left out) and is refused (exit 5, unsupported-host) on a host without vmx/svm."})
    static final class Create extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID", description = "The new template's id.")
        String id;

        @Option(names = "--guest", paramLabel = "KIND", description = "\"test-guest\" (the default) or \"linux\".")
        String guest;

        @Option(names = "--image", paramLabel = "IMAGE",
                description = "Test guest: \"test-guest\" or the absolute path of a guest ELF on the host.")
        String image;

        @Option(names = "--kernel", paramLabel = "FILE",
                description = "Linux: a bzImage or PVH vmlinux under the daemon's image directory (absolute, or relative to it).")
        String kernel;

        @Option(names = "--initramfs", paramLabel = "FILE", description = "Linux: the initramfs with the guest agent, under the image directory.")
        String initramfs;

        @Option(names = "--vcpus", paramLabel = "N", description = "Linux: vCPUs, 1..32 (daemon default if left out).")
        Integer vcpus;

        @Option(names = "--memory-mib", paramLabel = "MIB", description = "Guest RAM in MiB (daemon default if left out).")
        Integer memoryMiB;

        @Option(names = "--network", description = "Give the guest a virtio-net device (its sandboxes then get a TAP on their tenant's network).")
        boolean network;

        @Override
        int run(ApiClient api) {
            ObjectNode body = object().put("id", id);
            for (String[] member : new String[][] {{"guest", guest}, {"image", image}, {"kernel", kernel}, {"initramfs", initramfs}}) {
                if (member[1] != null) {
                    body.put(member[0], member[1]);
                }
            }
            if (vcpus != null) {
                body.put("vcpus", vcpus);
            }
            if (memoryMiB != null) {
                body.put("memoryMiB", memoryMiB);
            }
            if (network) {
                body.put("network", true);
            }
            return show(ApiClient.expectSuccess(api.post(body, "v1", "templates")).json(), TemplateCommands::describe);
        }
    }

    @Command(name = "get", description = "Show one template.")
    static final class Get extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        int run(ApiClient api) {
            return show(ApiClient.expectSuccess(api.get("v1", "templates", id)).json(), TemplateCommands::describe);
        }
    }

    @Command(name = "verify", description = {"Ask the daemon to re-check a template's state and memory checksums.",
            "A damaged template is exit 7."})
    static final class Verify extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        int run(ApiClient api) {
            JsonNode v = ApiClient.expectSuccess(api.post(null, "v1", "templates", id, "verify")).json();
            boolean ok = v.path("ok").asBoolean(false);
            if (json()) {
                printJson(v);
            } else if (ok) {
                out().println(Format.text(v, "id") + ": ok (" + Format.text(v, "detail") + ")");
            }
            if (!ok) {
                err().println("template " + id + " is damaged: " + Format.text(v, "detail"));
                return ExitCodes.FAILURE;
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "delete", description = "Delete a template (live clones keep running).")
    static final class Delete extends ApiCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        int run(ApiClient api) {
            ApiClient.expectSuccess(api.delete("v1", "templates", id));
            return showDeleted("template", id);
        }
    }
}
