package dev.hostd.template;

/** The version recorded in templates, from the jar manifest when packaged. */
final class Version {
    static final String VERSION = Version.class.getPackage().getImplementationVersion() != null
            ? Version.class.getPackage().getImplementationVersion() : "dev";

    private Version() {}
}
