"""The chaos run (`just chaos`): real processes, injected faults, then every invariant checked."""
