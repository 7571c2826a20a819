"""/limits: absolute limits from quotas and usage, per microversion."""

from __future__ import annotations

import pytest
from schemas import Api, check, seeded  # noqa: F401


@pytest.mark.parametrize("version,module", [(None, "v2_1.limits"), ("2.36", "v2_36.limits"),
                                            ("2.39", "v2_39.limits"), ("2.57", "v2_57.limits")])
def test_limits_views(demo, version, module):
    body = check(demo("GET", "/limits", version), module, "get_limit")["limits"]
    assert body["rate"] == []
    absolute = body["absolute"]
    assert absolute["maxTotalInstances"] == 10 and absolute["totalInstancesUsed"] == 0
    assert absolute["maxTotalRAMSize"] == 51200 and absolute["maxServerGroups"] == 10


def test_limits_other_project_admin_only(demo, seeded, admin_token):
    assert demo("GET", "/limits?tenant_id=other").status_code == 403
    assert Api(seeded, admin_token)("GET", "/limits?tenant_id=other").status_code == 200
