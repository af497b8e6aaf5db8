"""Evaluation protocols on a frozen backbone: features, kNN, linear probe (and class-split accuracy)."""
