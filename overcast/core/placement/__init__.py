"""Placement (the resource provider inventory and allocation service), per region, over the
compute records: every compute host is a provider; servers hold allocations on their host.

``catalog``: resource classes and traits. ``providers``: providers, inventories, traits and
aggregates. ``allocations``: allocations, usages and allocation candidates. ``policies``: the rules.
"""
