"""The metadata definition namespaces every first start loads, as a real Glance's operator loads the
common ones (``glance-manage db_load_metadefs``): what the compute service understands in image
properties, volume image metadata, flavor extra specs, aggregate metadata and server metadata.

Written here from Glance's documented namespace schema (``/v2/schemas/metadefs/namespace``) and the
properties Nova documents; each is a namespace create body, loaded protected and public, owned by
``admin`` as Glance's loader records them. Horizon reads them for its metadata editors (the Launch
Instance wizard, image and flavor metadata); with none at all Horizon 27 fails its parallel
look-up and every metadata step stays empty.
"""

from __future__ import annotations

from typing import Any

IMAGE = {"name": "OS::Glance::Image"}
#: a volume made from an image keeps these in its image metadata
VOLUME_IMAGE = {"name": "OS::Cinder::Volume", "properties_target": "image"}
#: the name Horizon 27's Launch Instance asks for volumes (launch-instance-model.service.js spells it
#: so); an answer with no namespace makes Horizon's metadefs call fail (its parallel look-up refuses
#: zero workers), so the namespaces a volume's image metadata uses are associated with it as well
HORIZON_VOLUME = {"name": "OS::Cinder::Volumes", "properties_target": "image"}


def _enum(title: str, description: str, values: list[str], **extra: Any) -> dict[str, Any]:
    return {"title": title, "description": description, "type": "string", "enum": values, **extra}


def _string(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "description": description, "type": "string", **extra}


def _integer(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "description": description, "type": "integer", **extra}


def _boolean(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "description": description, "type": "boolean", **extra}


def _namespace(name: str, display_name: str, description: str, associations: list[dict[str, Any]],
               properties: dict[str, Any] | None = None, objects: list[dict[str, Any]] | None = None,
               tags: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"namespace": name, "display_name": display_name, "description": description,
                            "visibility": "public", "protected": True, "owner": "admin",
                            "resource_type_associations": associations}
    if properties:
        body["properties"] = properties
    if objects:
        body["objects"] = objects
    if tags:
        body["tags"] = [{"name": tag} for tag in tags]
    return body


NAMESPACES: tuple[dict[str, Any], ...] = (
    _namespace(
        "OS::Compute::Watchdog", "Watchdog Behavior",
        "A virtual hardware watchdog lets the hypervisor act when a guest stops responding. Set it on an "
        "image, a volume's image metadata or a flavor; the flavor's setting wins.",
        [{**IMAGE, "prefix": "hw_"}, {**VOLUME_IMAGE, "prefix": "hw_"}, {**HORIZON_VOLUME, "prefix": "hw_"},
         {"name": "OS::Nova::Flavor", "prefix": "hw:"}],
        {"watchdog_action": _enum(
            "Watchdog Action", "What the hypervisor does when the guest's watchdog fires: nothing (disabled, "
            "the default), reset the guest, power it off, pause it, or only report the event (none).",
            ["disabled", "reset", "poweroff", "pause", "none"])}),
    _namespace(
        "OS::Compute::Hypervisor", "Hypervisor Selection",
        "Choose the kind of hypervisor, and the guest's virtual machine mode, an image needs; the scheduler "
        "places servers booted from it on matching hosts.",
        [IMAGE, VOLUME_IMAGE, HORIZON_VOLUME],
        {"hypervisor_type": _enum(
            "Hypervisor Type", "The hypervisor the image is made for.",
            ["baremetal", "hyperv", "kvm", "lxc", "qemu", "uml", "vmware", "vz", "xen", "zvm"]),
         "vm_mode": _enum(
            "VM Mode", "The guest ABI the image expects: full hardware virtualisation (hvm), a Xen "
            "paravirtualised guest (xen), a User Mode Linux guest (uml) or a container (exe).",
            ["hvm", "xen", "uml", "exe"])}),
    _namespace(
        "OS::Compute::InstanceData", "Instance Config Data",
        "How a server booted from this image receives its configuration data and how it is snapshotted.",
        [IMAGE, VOLUME_IMAGE, HORIZON_VOLUME],
        {"img_config_drive": _enum(
            "Config Drive", "Whether a server booted from the image must have a config drive (mandatory) or "
            "only gets one when asked (optional).", ["optional", "mandatory"]),
         "os_require_quiesce": _boolean(
            "Require Quiescent File Systems", "Snapshots of a server booted from the image must quiesce its "
            "file systems first (through the guest agent); a snapshot fails if they cannot be quiesced.")}),
    _namespace(
        "OS::Compute::LibvirtImage", "libvirt Driver Options for Images",
        "Virtual hardware the libvirt (KVM/QEMU) driver gives a server booted from the image.",
        [IMAGE, VOLUME_IMAGE, HORIZON_VOLUME],
        {"hw_disk_bus": _enum("Disk Bus", "The bus the server's disks are attached to.",
                              ["scsi", "virtio", "uml", "xen", "ide", "usb", "lxc", "sata"]),
         "hw_cdrom_bus": _enum("CD-ROM Bus", "The bus a config drive or rescue disk of type cdrom uses.",
                               ["scsi", "virtio", "uml", "xen", "ide", "usb", "sata"]),
         "hw_scsi_model": _enum("SCSI Model", "The SCSI controller model; virtio-scsi allows more disks and "
                                "discard (TRIM).", ["virtio-scsi", "lsisas1068", "buslogic", "lsilogic"]),
         "hw_video_model": _enum("Video Model", "The emulated graphics card.",
                                 ["vga", "cirrus", "vmvga", "xen", "qxl", "virtio", "gop", "none", "bochs"]),
         "hw_video_ram": _integer("Max Video RAM (MB)", "The largest video RAM the guest may ask for, in MB; "
                                  "the flavor's hw_video:ram_max_mb caps it.", minimum=0),
         "hw_vif_model": _enum("Virtual Network Interface", "The emulated network interface card.",
                               ["e1000", "e1000e", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3"]),
         "hw_qemu_guest_agent": _enum("QEMU Guest Agent", "The image runs the QEMU guest agent, so the host can "
                                      "quiesce file systems and set passwords.", ["yes", "no"]),
         "hw_machine_type": _string("Machine Type", "The QEMU machine type to emulate, e.g. q35 or pc."),
         "hw_firmware_type": _enum("Firmware Type", "Boot the guest with a BIOS or with UEFI firmware.",
                                   ["bios", "uefi"]),
         "hw_pointer_model": _enum("Pointer Model", "An absolute pointing device (a USB tablet) keeps the "
                                   "graphical console's cursor in step with the guest's.", ["usbtablet"]),
         "hw_rng_model": _enum("Random Number Generator", "Give the guest a virtio random number generator; "
                               "the flavor must allow it (hw_rng:allowed).", ["virtio"])}),
    _namespace(
        "OS::Compute::GuestShutdownBehavior", "Shutdown Behavior",
        "How long the compute service waits for a guest to shut down cleanly before it powers it off.",
        [IMAGE, VOLUME_IMAGE, HORIZON_VOLUME],
        {"os_shutdown_timeout": _integer(
            "Shutdown timeout", "Seconds to wait for a clean shutdown of a guest booted from the image before "
            "it is powered off (the compute host's shutdown_timeout applies otherwise); 0 powers off at once.",
            minimum=0)}),
    _namespace(
        "OS::Compute::RandomNumberGenerator", "Random Number Generator",
        "Whether and how fast servers of a flavor may read the host's entropy through a virtual random "
        "number generator.",
        [{"name": "OS::Nova::Flavor", "prefix": "hw_rng:"}],
        {"allowed": _boolean("Random Number Generator Allowed",
                             "Servers of the flavor may have a random number generator device."),
         "rate_bytes": _integer("Random number generator limits.",
                                "Bytes a guest may read from the host's entropy per period (0: no limit).",
                                minimum=0),
         "rate_period": _integer("Random number generator read period.",
                                 "The period, in milliseconds, that rate_bytes applies to.", minimum=0)}),
    _namespace(
        "OS::Compute::CPUPinning", "CPU Pinning",
        "Dedicate host CPUs to a server's virtual CPUs, and say how it may use the host's SMT siblings.",
        [{**IMAGE, "prefix": "hw_"}, {**VOLUME_IMAGE, "prefix": "hw_"}, {**HORIZON_VOLUME, "prefix": "hw_"},
         {"name": "OS::Nova::Flavor", "prefix": "hw:"}],
        {"cpu_policy": _enum("CPU Pinning policy", "Float over the host's shared CPUs (shared, the default), "
                             "have dedicated host CPUs (dedicated), or mix both (mixed).",
                             ["shared", "dedicated", "mixed"]),
         "cpu_thread_policy": _enum("CPU Thread Pinning Policy", "With dedicated CPUs: place on hosts with SMT "
                                    "(require), without (isolate), or either, preferring siblings (prefer).",
                                    ["isolate", "prefer", "require"])}),
    _namespace(
        "OS::Compute::HostCapabilities", "Compute Host Capabilities",
        "What a compute host's CPU offers. Set on a host aggregate to describe its hosts, and on a flavor to "
        "ask for such hosts (the scheduler's capabilities and aggregate filters compare them).",
        [{"name": "OS::Nova::Aggregate", "prefix": "aggregate_instance_extra_specs:"},
         {"name": "OS::Nova::Flavor", "prefix": "capabilities:"}],
        {"cpu_info:vendor": _enum("Vendor", "The CPU vendor.", ["Intel", "AMD", "IBM", "ARM"]),
         "cpu_info:model": _string("Model", "The CPU model name, e.g. Skylake-Server or EPYC."),
         "cpu_info:arch": _enum("Architecture", "The CPU architecture.",
                                ["x86_64", "i686", "aarch64", "ppc64le", "s390x"]),
         "cpu_info:topology:cores": _integer("cores", "Cores per socket.", minimum=1),
         "cpu_info:topology:threads": _integer("threads", "Threads per core.", minimum=1),
         "cpu_info:topology:sockets": _integer("sockets", "Sockets on the host.", minimum=1)}),
    _namespace(
        "OS::Compute::SchedulerHints", "Scheduler Hints",
        "Hints a server's create request gives the scheduler (Nova's scheduler hints): where to place the "
        "server relative to other servers, a server group or an address.",
        [{"name": "OS::Nova::Server", "properties_target": "scheduler_hints"}],
        {"same_host": {"title": "Same Host", "description": "Place the server on the host of these servers (their "
                       "UUIDs).", "type": "array", "items": {"type": "string"}},
         "different_host": {"title": "Different Host", "description": "Place the server on a host none of these "
                            "servers (their UUIDs) is on.", "type": "array", "items": {"type": "string"}},
         "group": _string("Server Group", "The UUID of the server group whose policy (affinity, anti-affinity) "
                          "the server follows."),
         "build_near_host_ip": _string("Build Near Host IP", "Place the server on a host whose IP address is in "
                                       "the subnet of this address (with cidr)."),
         "cidr": _string("CIDR", "The prefix length for build_near_host_ip, e.g. /24."),
         "query": _string("Query", "A JSON query over host state the host must satisfy, e.g. "
                          "[\">=\", \"$free_ram_mb\", 1024].")}),
    _namespace(
        "OS::Software::WebServers", "Web Servers",
        "Web servers installed on the image or running on the server; what a catalogue or a deployment tool "
        "may look for. Set on an image, a volume's image metadata or a server's metadata.",
        [IMAGE, VOLUME_IMAGE, HORIZON_VOLUME, {"name": "OS::Nova::Server", "properties_target": "metadata"}],
        {"sw_webserver_apache_version": _string("Apache HTTP Server version", "The Apache httpd release, e.g. 2.4."),
         "sw_webserver_nginx_version": _string("nginx version", "The nginx release, e.g. 1.24."),
         "sw_webserver_lighttpd_version": _string("lighttpd version", "The lighttpd release, e.g. 1.4.")},
        tags=["WebServer"]),
    _namespace(
        "OS::Software::Runtimes", "Runtime Environment",
        "Language runtimes installed on the image or present on the server. Set on an image, a volume's image "
        "metadata or a server's metadata.",
        [IMAGE, VOLUME_IMAGE, HORIZON_VOLUME, {"name": "OS::Nova::Server", "properties_target": "metadata"}],
        {"sw_runtime_python_version": _string("Python version", "The Python release, e.g. 3.11."),
         "sw_runtime_java_version": _string("Java version", "The Java runtime release, e.g. 17."),
         "sw_runtime_nodejs_version": _string("Node.js version", "The Node.js release, e.g. 20.")}),
)
