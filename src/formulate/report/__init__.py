"""Reports for people: campaign summaries and model insights (slices such as Fig. S16)."""
