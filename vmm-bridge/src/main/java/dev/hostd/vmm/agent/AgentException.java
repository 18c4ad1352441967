package dev.hostd.vmm.agent;

/** The agent channel failed: no connection, connection lost or replaced, request refused. */
public class AgentException extends RuntimeException {
    public AgentException(String message) {
        super(message);
    }
}
