"""Thin Streamlit page scripts (run by st.navigation, never imported for their content)."""
