"""The DMS simulator: a demo fleet's DMSs, deterministic and changing day by day, over real HTTP."""
