"""App pages. Each file is a Streamlit page script run by ``st.navigation`` (see app/main.py);
``crime_map.py`` is a module whose ``render(lh)`` the crime page mounts."""
