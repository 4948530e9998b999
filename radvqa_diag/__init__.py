"""radvqa diag: checkpoint + eval set -> saliency -> failure modes -> report (HTML)."""
