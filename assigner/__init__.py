"""Legal aid assignment engine: eligibility -> scoring -> search -> plan -> verify -> explain."""
