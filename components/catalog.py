"""Every ComponentResource of the package, in the order a stack declares them.

The component provider (provider/__main__.py) hosts exactly these, and the schema test
(tests/unit/test_component_package.py) checks the schema inferred from them.
"""

from components.dns import ProxyDns
from components.face import FaceAccount
from components.monitoring import ProxyMonitoring
from components.network import IsolatedNetwork
from components.proxy import LivenessProxy
from components.proxy_app import LivenessProxyApp

COMPONENTS = (IsolatedNetwork, FaceAccount, LivenessProxy, ProxyDns, LivenessProxyApp, ProxyMonitoring)
