"""Body stats: weight, height, body fat and girth measurements over time."""
