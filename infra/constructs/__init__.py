"""One construct per concern; LeadflowStack (infra/stack.py) only composes them."""
