package dev.hostd.vmm.agent;

/** The guest sent bytes that break the agent protocol (docs/guest-abi.md). */
public final class AgentProtocolException extends AgentException {
    public AgentProtocolException(String message) {
        super(message);
    }
}
