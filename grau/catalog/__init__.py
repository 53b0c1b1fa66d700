"""The exercise catalog: equipment and exercises, grau's own and the user's."""
