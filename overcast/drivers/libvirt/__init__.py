"""Hypervisor hosts through libvirt: the code the agent and the direct-connect driver share."""
