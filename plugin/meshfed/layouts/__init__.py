"""The two chart generations: the rows of layout v1 and layout v2, built from the model."""
