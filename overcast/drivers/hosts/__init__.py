"""Hypervisor hosts: libvirt guests, host networking, scheduling, and the compute and network
drivers the ``agent`` (over a message bus) and ``libvirt`` (direct connect) regions share."""
