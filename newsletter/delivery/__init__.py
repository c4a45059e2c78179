"""delivery: getting bytes to people (plan, transports, reply policy, dispatch, send, test send).
Imports `mail`, `store`, `content` and `errors`, never web or cli."""
