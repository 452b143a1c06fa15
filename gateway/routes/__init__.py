"""HTTP routes. Each handler declares its permission in ``opt``; handlers only translate HTTP."""
