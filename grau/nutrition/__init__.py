"""Nutrition: water, energy and macronutrients the user logs."""
