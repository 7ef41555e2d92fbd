"""The local cluster's nodes: fake ones (`fake`, kwok) or one real node on this machine (`real`)."""
