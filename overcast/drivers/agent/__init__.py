"""Phase 1 of hypervisor hosts: ``overcast agent`` on each host, reached over RabbitMQ.

- :mod:`~overcast.drivers.agent.bus`: the RPC over RabbitMQ (kombu; decision 0039);
- :mod:`~overcast.drivers.agent.process`: the agent process (``overcast agent``);
- :mod:`~overcast.drivers.agent.transport`: the Overcast side, hosts known from their heartbeats.

The ``agent`` region driver (servers through the Nova API on these hosts) is not here yet.
"""
