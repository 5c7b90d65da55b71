"""Alert intake: monitoring payloads become neutral `Alert`s, routed to playbooks."""
